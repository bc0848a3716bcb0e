package retry

import "sync"

// Budget is a token bucket that every retry draws from, shared by all calls
// of a client. A success puts a little back. When failures come in a storm
// the bucket empties and further failures are returned instead of retried,
// so the client cannot multiply the load on a struggling server.
type Budget struct {
	mu       sync.Mutex
	tokens   int
	capacity int
	cost     int // per retry
	costAmb  int // per retry after a transport error (timeouts, resets)
	refund   int // per success
	disabled bool
}

// NewBudget returns a budget of capacity tokens where a retry costs cost,
// a retry after a transport error costs transportCost, and each success
// refunds refund.
func NewBudget(capacity, cost, transportCost, refund int) *Budget {
	return &Budget{tokens: capacity, capacity: capacity, cost: cost, costAmb: transportCost, refund: refund}
}

// DefaultBudget returns the default budget: 500 tokens, 5 per retry, 10 per
// retry after a transport error, 1 back per success. Sustained, that allows
// roughly one retry for every five successes once the reserve is spent.
func DefaultBudget() *Budget { return NewBudget(500, 5, 10, 1) }

// Unbudgeted returns a Budget that never runs out: every failure the
// policy allows is retried, however many calls are failing at once.
func Unbudgeted() *Budget { return &Budget{disabled: true} }

// take spends the cost of one retry; it reports false when the budget is
// spent.
func (b *Budget) take(transport bool) bool {
	if b == nil || b.disabled {
		return true
	}
	c := b.cost
	if transport {
		c = b.costAmb
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < c {
		return false
	}
	b.tokens -= c
	return true
}

func (b *Budget) success() {
	if b == nil || b.disabled || b.refund == 0 {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.capacity, b.tokens+b.refund)
	b.mu.Unlock()
}

// Available returns the tokens left.
func (b *Budget) Available() int {
	if b == nil || b.disabled {
		return -1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens
}
