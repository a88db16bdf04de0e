-- +goose Up
-- People signed in through an OpenID Provider get a user row too, found
-- by the provider's issuer and their subject there; local users have
-- neither. Their password hash is unusable, so they cannot sign in
-- locally.
ALTER TABLE users
    ADD COLUMN oidc_issuer  text,
    ADD COLUMN oidc_subject text,
    ADD CONSTRAINT users_oidc_both CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL));
CREATE UNIQUE INDEX users_oidc_idx ON users (oidc_issuer, oidc_subject) WHERE oidc_issuer IS NOT NULL;

-- +goose Down
DROP INDEX users_oidc_idx;
ALTER TABLE users DROP CONSTRAINT users_oidc_both, DROP COLUMN oidc_subject, DROP COLUMN oidc_issuer;
