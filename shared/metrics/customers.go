package metrics

import "github.com/prometheus/client_golang/prometheus"

// Customer change events, counted by the API.
const (
	CustomerCreated  = "created"
	CustomerUpdated  = "updated"
	CustomerDeleted  = "deleted"
	CustomerTagged   = "tag_added"
	CustomerUntagged = "tag_removed"
)

// Customers counts customer changes. A nil *Customers counts nothing.
type Customers struct {
	events *prometheus.CounterVec
}

// NewCustomers registers the customer event counter on reg.
func NewCustomers(reg prometheus.Registerer) *Customers {
	return &Customers{events: newEventCounter(reg, "customer",
		"Customer changes made through the API, by event: created, updated, deleted, tag_added, tag_removed.",
		CustomerCreated, CustomerUpdated, CustomerDeleted, CustomerTagged, CustomerUntagged)}
}

// Event counts one event.
func (m *Customers) Event(event string) {
	if m != nil {
		m.events.WithLabelValues(event).Inc()
	}
}
