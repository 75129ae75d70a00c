package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// BatchGetter is implemented by clients whose backend reads several values in one call
// (Secrets Manager's BatchGetSecretValue, Parameter Store's GetParameters). The Reader
// gathers concurrent reads of one store into such calls.
type BatchGetter interface {
	// BatchLimit is the most refs one GetSecrets call takes.
	BatchLimit() int
	// CanBatch reports whether a ref can be read in a batch (e.g. Secrets Manager batches
	// only the current version).
	CanBatch(ref Ref) bool
	// GetSecrets reads refs in one call. errs holds the refs the backend refused one by
	// one (wrapping ErrNotFound for those that do not exist); a ref in neither map does
	// not exist either; err fails the whole batch.
	GetSecrets(ctx context.Context, refs []Ref) (values map[Ref][]byte, errs map[Ref]error, err error)
}

// ReadPolicy tells the Reader how fresh a value the caller needs and when it will ask
// again. The zero value asks for a fresh read and schedules nothing.
type ReadPolicy struct {
	// Since, when set, accepts a value read at or after it (by this or another caller)
	// instead of a backend call. A periodic refresh sets it to the time it fell due less
	// its jitter window: any value read since then is as fresh as the refresh promises,
	// however long the refresh waited in the queue. New, changed and forced syncs leave
	// it zero and read fresh.
	Since time.Time
	// Interval is the caller's refresh interval and Window its jitter: a value due within
	// Window is read ahead when a batch has room.
	Interval time.Duration
	Window   time.Duration
}

type readPolicyKey struct{}

// WithReadPolicy returns a context whose reads follow p.
func WithReadPolicy(ctx context.Context, p ReadPolicy) context.Context {
	return context.WithValue(ctx, readPolicyKey{}, p)
}

func readPolicyFrom(ctx context.Context) ReadPolicy {
	p, _ := ctx.Value(readPolicyKey{}).(ReadPolicy)
	return p
}

// ReaderOptions configure the shared read path of every store.
type ReaderOptions struct {
	// QPS and Burst size the per-store token bucket every backend call waits for. 0 QPS
	// uses the provider's default (DefaultRater), and none when it has no default; 0 Burst
	// is twice QPS.
	QPS   float64
	Burst int
	// BatchWindow is how long a read waits for others to join its batch.
	BatchWindow time.Duration
	// Now is the clock of the values' ages; nil is time.Now (tests step it).
	Now func() time.Time
	// RememberFor is how long a value read is kept for periodic refreshes that accept a
	// recent one; 0 is DefaultRememberFor.
	RememberFor time.Duration
	// MaxRemembered bounds the refs one store's Reader keeps; 0 is DefaultMaxRemembered.
	// Past it the refs asked for least recently are forgotten.
	MaxRemembered int
}

// Bounds of what a Reader remembers: a store's values are held for the refreshes of one
// cycle, not for as long as the store lives.
const (
	// DefaultRememberFor covers one refresh cycle's jitter window (5% of an hour is 3
	// minutes) with room for a backed-up queue.
	DefaultRememberFor = 15 * time.Minute
	// DefaultMaxRemembered refs per store.
	DefaultMaxRemembered = 10000
	// sweepEvery is how often a Reader drops expired values.
	sweepEvery = time.Minute
)

// DefaultReaderOptions pace each store at its provider's default rate.
func DefaultReaderOptions() ReaderOptions {
	return ReaderOptions{BatchWindow: 10 * time.Millisecond}
}

// DefaultRater is implemented by providers whose backends have request quotas: the token
// bucket each of their stores gets unless --provider-qps sets one for all.
type DefaultRater interface {
	DefaultRate() (qps float64, burst int)
}

// Reader is the read path to one store, shared by every ExternalSecret that uses it:
// identical concurrent reads are made once, reads of a BatchGetter are gathered into batch
// calls (with values due soon read ahead to fill them), values are kept for callers that
// accept a recent one (periodic refreshes), and every backend call waits for the store's
// token bucket.
type Reader struct {
	limiter *rate.Limiter
	window  time.Duration
	now     func() time.Time
	keepFor time.Duration
	maxRefs int
	swept   time.Time // last sweep of expired values
	timed   bool      // a sweep timer is pending

	flight singleflight.Group

	mu      sync.Mutex
	client  Client
	batcher BatchGetter // nil when the client reads one value per call
	memo    map[Ref]memoEntry
	pending *batch
}

// memoEntry is the last value read for a ref and what its readers asked for. The value
// expires keepFor after it was read (has turns false); the schedule stays while readers ask
// for the ref, for read-ahead.
type memoEntry struct {
	value     []byte
	has       bool
	read      time.Time
	requested time.Time
	policy    ReadPolicy
}

// batch is a BatchGetter call being gathered.
type batch struct {
	getter BatchGetter
	refs   []Ref
	done   chan struct{}
	values map[Ref][]byte
	errs   map[Ref]error
	err    error
	// requester is the ExternalSecret every ref of the batch is read for; named is false
	// when the batch serves several, or refs read ahead (the audit trail names none then).
	requester Requester
	named     bool
}

// NewReader returns the read path for a client.
func NewReader(c Client, o ReaderOptions) *Reader {
	r := &Reader{window: o.BatchWindow, now: o.Now, keepFor: o.RememberFor, maxRefs: o.MaxRemembered,
		memo: map[Ref]memoEntry{}}
	if r.now == nil {
		r.now = time.Now
	}
	if r.keepFor <= 0 {
		r.keepFor = DefaultRememberFor
	}
	if r.maxRefs <= 0 {
		r.maxRefs = DefaultMaxRemembered
	}
	if o.QPS > 0 {
		burst := o.Burst
		if burst == 0 {
			burst = int(2 * o.QPS)
		}
		r.limiter = rate.NewLimiter(rate.Limit(o.QPS), max(burst, 1))
	}
	r.setClient(c)
	return r
}

// setClient replaces the client (its credentials expired); the values read and the rate
// limit stay, as they belong to the store.
func (r *Reader) setClient(c Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.client, r.batcher = c, nil
	if b, ok := c.(BatchGetter); ok && b.BatchLimit() > 1 {
		r.batcher = b
	}
}

// Client returns the provider client behind the reader.
func (r *Reader) Client() Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.client
}

func (r *Reader) clients() (Client, BatchGetter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.client, r.batcher
}

// Validate implements Client.
func (r *Reader) Validate(ctx context.Context) error {
	if err := r.wait(ctx); err != nil {
		return err
	}
	return r.Client().Validate(ctx)
}

// GetSecret implements Client.
func (r *Reader) GetSecret(ctx context.Context, ref Ref) ([]byte, error) {
	p := readPolicyFrom(ctx)
	now := r.now()
	r.mu.Lock()
	if e, ok := r.memo[ref]; ok {
		e.requested = now
		if p.Interval > 0 { // an ExternalSecret without refreshes does not unschedule others
			e.policy = p
		}
		r.memo[ref] = e
		if e.has && !p.Since.IsZero() && !e.read.Before(p.Since) && now.Sub(e.read) <= r.keepFor {
			r.mu.Unlock()
			return bytes.Clone(e.value), nil
		}
	}
	r.mu.Unlock()
	v, err, _ := r.flight.Do(ref.Key+"\x00"+ref.Version, func() (any, error) {
		return r.read(ctx, ref, p)
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// read makes the backend call for one ref, in a batch when the client can.
func (r *Reader) read(ctx context.Context, ref Ref, p ReadPolicy) ([]byte, error) {
	var v []byte
	var err error
	c, b := r.clients()
	if b != nil && b.CanBatch(ref) {
		v, err = r.readBatched(ctx, ref, b)
	} else if err = r.wait(ctx); err == nil {
		v, err = c.GetSecret(ctx, ref)
	}
	if err == nil {
		err = CheckValue(ref, v)
	}
	if err != nil {
		return nil, err
	}
	r.remember(ref, v, p)
	return v, nil
}

func (r *Reader) remember(ref Ref, v []byte, p ReadPolicy) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.memo[ref]; ok && p.Interval == 0 {
		p = old.policy
	}
	r.memo[ref] = memoEntry{value: v, has: true, read: now, requested: now, policy: p}
	if len(r.memo) > r.maxRefs || now.Sub(r.swept) >= sweepEvery {
		r.sweep(now)
	}
	// A store nobody reads any more must let go of its values too.
	if !r.timed {
		r.timed = true
		time.AfterFunc(r.keepFor, r.timedSweep)
	}
}

// timedSweep sweeps after the values' lifetime and again while values are left: a value
// is gone at most twice its lifetime after it was read, whether or not the store is read.
func (r *Reader) timedSweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(r.now())
	r.timed = false
	for _, e := range r.memo {
		if e.has {
			r.timed = true
			time.AfterFunc(r.keepFor, r.timedSweep)
			return
		}
	}
}

// sweep drops expired values and the refs nobody asked for in two of their intervals, and
// past MaxRemembered the refs asked for least recently. The caller holds r.mu.
func (r *Reader) sweep(now time.Time) {
	r.swept = now
	for ref, e := range r.memo {
		switch {
		case now.Sub(e.requested) > 2*e.policy.Interval+time.Minute:
			delete(r.memo, ref)
		case e.has && now.Sub(e.read) > r.keepFor:
			e.value, e.has = nil, false
			r.memo[ref] = e
		}
	}
	if len(r.memo) <= r.maxRefs {
		return
	}
	// Forget down to 90% of the bound at once, so that a store read with ever new keys
	// does not sort on every read.
	refs := slices.Collect(maps.Keys(r.memo))
	slices.SortFunc(refs, func(a, b Ref) int { return r.memo[a].requested.Compare(r.memo[b].requested) })
	for _, ref := range refs[:len(refs)-r.maxRefs*9/10] {
		delete(r.memo, ref)
	}
}

// Remembered returns how many values and bytes the Reader holds (tests, debugging).
func (r *Reader) Remembered() (values, size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.memo {
		if e.has {
			values++
			size += len(e.value)
		}
	}
	return values, size
}

// release forgets every value: the store is gone or changed.
func (r *Reader) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.memo = map[Ref]memoEntry{}
}

// readBatched joins (or opens) the batch being gathered and waits for its call.
func (r *Reader) readBatched(ctx context.Context, ref Ref, bg BatchGetter) ([]byte, error) {
	r.mu.Lock()
	b := r.pending
	if b == nil {
		b = &batch{done: make(chan struct{}), getter: bg}
		r.pending = b
		// The batch leaves after the window, or at once when full. It runs detached from
		// the opener's context: other readers wait on it too.
		time.AfterFunc(r.window, func() { r.flush(b) })
	}
	req, named := RequesterFrom(ctx)
	if len(b.refs) == 0 {
		b.requester, b.named = req, named
	} else if !named || req != b.requester {
		b.named = false
	}
	b.refs = append(b.refs, ref)
	full := len(b.refs) >= b.getter.BatchLimit()
	r.mu.Unlock()
	if full {
		r.flush(b)
	}
	select {
	case <-b.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.err != nil {
		return nil, b.err
	}
	if err, ok := b.errs[ref]; ok {
		return nil, err
	}
	v, ok := b.values[ref]
	if !ok {
		return nil, NotFound(ref, nil)
	}
	return v, nil
}

// flush sends a batch once: it fills the free room with values due soon, waits for the
// token bucket and makes the call.
func (r *Reader) flush(b *batch) {
	r.mu.Lock()
	if r.pending != b {
		r.mu.Unlock()
		return // already sent
	}
	r.pending = nil
	ahead := r.readAhead(b.refs, b.getter)
	b.refs = append(b.refs, ahead...)
	if len(ahead) > 0 {
		b.named = false
	}
	r.mu.Unlock()
	go func() {
		defer close(b.done)
		// A batch serves several reconciles; none of their contexts may cancel it. The
		// client's own request timeout bounds it.
		ctx := context.Background()
		if b.named {
			ctx = WithRequester(ctx, b.requester.Namespace, b.requester.Name)
		}
		if b.err = r.wait(ctx); b.err != nil {
			return
		}
		b.values, b.errs, b.err = b.getter.GetSecrets(ctx, b.refs)
		if b.err != nil {
			return
		}
		for ref, v := range b.values {
			if err := CheckValue(ref, v); err != nil {
				if b.errs == nil {
					b.errs = map[Ref]error{}
				}
				delete(b.values, ref)
				b.errs[ref] = err
				continue
			}
			r.remember(ref, v, r.policyOf(ref))
		}
	}()
}

func (r *Reader) policyOf(ref Ref) ReadPolicy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.memo[ref].policy
}

// readAhead picks up to n batchable refs that were read before and whose readers will
// want them again within their Window, most overdue first. Refs nobody asked for in two of
// their intervals are forgotten. The caller holds r.mu.
func (r *Reader) readAhead(in []Ref, bg BatchGetter) []Ref {
	n := bg.BatchLimit() - len(in)
	now := r.now()
	type candidate struct {
		ref Ref
		due time.Time
	}
	var picked []candidate
	for ref, e := range r.memo {
		if now.Sub(e.requested) > 2*e.policy.Interval+time.Minute {
			delete(r.memo, ref)
			continue
		}
		// A value read ahead is kept keepFor: reading it earlier than that before it falls
		// due would read it for nothing.
		due := e.read.Add(e.policy.Interval)
		if n <= 0 || e.policy.Interval <= 0 || now.Before(due.Add(-min(e.policy.Window, r.keepFor))) || !bg.CanBatch(ref) ||
			slices.Contains(in, ref) {
			continue
		}
		picked = append(picked, candidate{ref, due})
	}
	slices.SortFunc(picked, func(a, b candidate) int { return a.due.Compare(b.due) })
	out := make([]Ref, 0, min(n, len(picked)))
	for _, c := range picked[:min(max(n, 0), len(picked))] {
		out = append(out, c.ref)
	}
	return out
}

// Find lists many secrets (dataFrom.find) when the client can.
func (r *Reader) Find(ctx context.Context, ref FindRef) (map[string][]byte, error) {
	f, ok := r.Client().(Finder)
	if !ok {
		return nil, Configf("this store's provider cannot list secrets")
	}
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	found, err := f.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	// Providers cap their finds as the results come in; this holds for any provider.
	if err := CheckFind(found); err != nil {
		return nil, err
	}
	return found, nil
}

// GetMetadata reads a secret's metadata when the client can.
func (r *Reader) GetMetadata(ctx context.Context, ref Ref) (map[string]string, error) {
	m, ok := r.Client().(MetadataGetter)
	if !ok {
		return nil, Configf("metadataPolicy Fetch: this store's provider cannot read metadata")
	}
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	return m.GetMetadata(ctx, ref)
}

// GetMetadataDocument reads a secret's metadata as the JSON object metadataPolicy Fetch
// selects in: the client's own document (MetadataDocumentGetter), else its tags.
func (r *Reader) GetMetadataDocument(ctx context.Context, ref Ref) ([]byte, error) {
	m, ok := r.Client().(MetadataDocumentGetter)
	if !ok {
		tags, err := r.GetMetadata(ctx, ref)
		if err != nil {
			return nil, err
		}
		return json.Marshal(tags)
	}
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	return m.GetMetadataDocument(ctx, ref)
}

// wait takes a token from the store's bucket.
func (r *Reader) wait(ctx context.Context) error {
	if r.limiter == nil {
		return nil
	}
	if err := r.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the store's rate limit: %w", err)
	}
	return nil
}

// Suggest describes the names closest to a missing key from one listing (see
// SuggestNames), paced by the store's bucket like every backend call; "" when there is no
// hint to give.
func (r *Reader) Suggest(ctx context.Context, key string) string {
	if _, ok := r.Client().(NameLister); !ok || r.wait(ctx) != nil {
		return ""
	}
	return SuggestNames(ctx, r.Client(), key)
}
