package store

import "time"

// Link is a short link as stored and as the admin API shows it.
type Link struct {
	Code      string     `json:"code"`
	URL       string     `json:"url"`
	Redirect  int        `json:"redirect"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
	Version   uint64     `json:"version"`
	Clicks    int64      `json:"clicks"`
	// Flags are warnings about the link the admin API computes from its
	// URL when it shows it (FlagIDNHomograph); stores leave them empty.
	Flags []string `json:"flags,omitempty"`
	LinkExtras
}

// Expired reports whether the link has expired at now.
func (l Link) Expired(now time.Time) bool {
	return l.ExpiresAt != nil && !now.Before(*l.ExpiresAt)
}

// NewLink is what CreateLink stores. Code is already chosen and validated.
type NewLink struct {
	Code      string
	URL       string
	Redirect  int
	ExpiresAt *time.Time
	CreatedAt time.Time
	LinkExtras
}

// LinkPatch changes some fields of a link; nil fields are left alone.
// ClearExpiry removes the expiry (JSON "expires_at": null).
type LinkPatch struct {
	URL         *string
	Redirect    *int
	ExpiresAt   *time.Time
	ClearExpiry bool

	// Extras: nil leaves a field alone; the Clear flags set it to null.
	Tags            *[]string
	Title           *string
	MaxVisits       *int64
	ClearMaxVisits  bool
	ValidSince      *time.Time
	ClearValidSince bool
	ForwardQuery    *bool
	// Targets replaces the targets (an empty Targets removes them).
	Targets *Targets
}

// ApplyExtras applies the patch's extras to x (the store's record after the
// patch), normalising tags.
func (p LinkPatch) ApplyExtras(x *LinkExtras) {
	if p.Tags != nil {
		x.Tags = NormTags(*p.Tags)
	}
	if p.Title != nil {
		x.Title = *p.Title
	}
	switch {
	case p.ClearMaxVisits:
		x.MaxVisits = nil
	case p.MaxVisits != nil:
		v := *p.MaxVisits
		x.MaxVisits = &v
	}
	switch {
	case p.ClearValidSince:
		x.ValidSince = nil
	case p.ValidSince != nil:
		t := p.ValidSince.UTC()
		x.ValidSince = &t
	}
	if p.ForwardQuery != nil {
		x.ForwardQuery = *p.ForwardQuery
	}
	if p.Targets != nil {
		if p.Targets.Empty() {
			x.Targets = nil
		} else {
			t := *p.Targets
			x.Targets = &t
		}
	}
}

// Empty reports whether the patch changes nothing.
func (p LinkPatch) Empty() bool {
	return p.URL == nil && p.Redirect == nil && p.ExpiresAt == nil && !p.ClearExpiry &&
		p.Tags == nil && p.Title == nil && p.MaxVisits == nil && !p.ClearMaxVisits &&
		p.ValidSince == nil && !p.ClearValidSince && p.ForwardQuery == nil && p.Targets == nil
}

// WarehouseStock is one warehouse's stock of a SKU.
type WarehouseStock struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

// StockView is a SKU's stock over all its warehouses. Available is the sum
// of the warehouses' available, each on_hand - reserved and never negative.
type StockView struct {
	SKU        string                    `json:"sku"`
	Available  int64                     `json:"available"`
	Version    uint64                    `json:"version"`
	Warehouses map[string]WarehouseStock `json:"warehouses"`
	// Replayed is true when WriteStock answered a repeated idempotency key
	// with the first outcome instead of writing again.
	Replayed bool `json:"-"`
}

// Reservation statuses.
const (
	StatusHeld      = "held"
	StatusCommitted = "committed"
	StatusReleased  = "released"
	StatusExpired   = "expired"
)

// Reservation is a hold of Qty units of SKU in Warehouse.
type Reservation struct {
	ID        string    `json:"id"`
	SKU       string    `json:"sku"`
	Warehouse string    `json:"warehouse"`
	Qty       int64     `json:"qty"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	// Replayed is true when Reserve returned the outcome of an earlier
	// request with the same idempotency key instead of reserving again.
	Replayed bool `json:"-"`
}

// ReserveRequest asks a store to hold stock.
type ReserveRequest struct {
	// ID is the reservation ID to use (keys.NewReservationID over the SKU's
	// partition); a replayed idempotent request returns the first ID instead.
	ID        string
	SKU       string
	Warehouse string // empty: the store picks one warehouse that has enough
	Qty       int64
	Now       time.Time
	TTL       time.Duration
	// IdempotencyKey, when set, makes the request repeatable: the store
	// records the outcome (reservation or insufficient stock) under
	// (SKU, key) and answers a repeat with it, changing nothing.
	IdempotencyKey string
	// Actor is who asked (the admin key's id), recorded on the movement.
	Actor string
}
