package store

// Heads is implemented by stores that index the queue by chat, so that
// the delivery worker finds the next job without decoding the queue:
// with 2,500 queued messages the worker used to decode 1,000 jobs per send
// (one scan window) to find the first job of each chat. Optional: the
// worker falls back to Pending when the store does not implement it.
type Heads interface {
	// PendingHeads returns the oldest queued job of each chat, in queue
	// order, at most limit of them (limit <= 0: all). It gives the worker
	// the same candidates as Pending, since the worker only ever sends the
	// first queued job of a chat (order per chat).
	PendingHeads(limit int) ([]Job, error)
}
