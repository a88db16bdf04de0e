package postgres

// ClaimSQLForTest is the claim statement, for plan checks.
const ClaimSQLForTest = claimSQL
