// Package rollout rolls out the workloads that consume a Secret when the Secret's data
// really changes, honouring Reloader's annotations so that users can drop Reloader.
//
// It is built against Reloader's known failure modes:
//   - idempotent: each workload records the hash of every Secret its pods were started with
//     (vigil.dev/secret-hashes); a rollout happens only when a hash differs, so metadata-only
//     writes, resyncs, controller restarts and leader changes roll nothing;
//   - no storms: the queue is keyed by workload, every change waits a debounce window (so a
//     burst of Secret changes makes one rollout), a workload is rolled at most once per
//     minimum interval, a global limit caps concurrent rollouts, and a workload rolled more
//     than a set number of times an hour is stopped as a loop;
//   - no List calls: Secrets are mapped to workloads through cache indexes.
package rollout

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/target"
	"github.com/vigil-dev/vigil/metrics"
)

// Scopes of the Secrets and ConfigMaps whose changes roll workloads.
const (
	// ScopeManaged: only the Secrets Vigil writes (the Secret cache holds no other).
	ScopeManaged = "managed"
	// ScopeAll: every Secret and ConfigMap a workload references or names, as Reloader;
	// the controller then caches every Secret and ConfigMap of the namespaces it watches.
	ScopeAll = "all"
)

// MaxWorkloadsPerEvent bounds the workloads of one kind a Secret or ConfigMap change
// enqueues: a namespace's tenant cannot make one change cost the controller without limit.
const MaxWorkloadsPerEvent = 1000

// Options bound how and how often workloads are rolled.
type Options struct {
	// Debounce is how long a change waits, so that changes arriving meanwhile make one
	// rollout.
	Debounce time.Duration
	// MinInterval is the least time between two rollouts of one workload.
	MinInterval time.Duration
	// MaxPerHour rollouts of one workload; one more is a loop and is stopped.
	MaxPerHour int
	// MaxConcurrent rollouts (API patches) at once, across all kinds.
	MaxConcurrent int
	// Scope is ScopeManaged or ScopeAll.
	Scope string
}

// DefaultOptions are the options `vigil controller` starts from.
func DefaultOptions() Options {
	return Options{
		Debounce: 10 * time.Second, MinInterval: time.Minute, MaxPerHour: 10, MaxConcurrent: 5, Scope: ScopeManaged,
	}
}

// Validate refuses a scope other than managed or all.
func (o Options) Validate() error {
	if o.Scope != ScopeManaged && o.Scope != ScopeAll {
		return fmt.Errorf("--rollout-scope must be %q or %q, got %q", ScopeManaged, ScopeAll, o.Scope)
	}
	return nil
}

// Reconciler rolls workloads of one kind.
type Reconciler struct {
	Client  client.Client
	Events  events.EventRecorder
	Metrics *metrics.Recorder
	Kind    Kind
	Options Options
	// Clock tells the time of rollouts and pauses.
	Clock clock.PassiveClock
	// Slots is shared by the reconcilers of every kind to cap concurrent rollouts.
	Slots chan struct{}
	// Changes remembers when each Secret changed, for the delay histogram.
	Changes *ChangeTimes
	// Sources, when set, reads the ExternalSecrets and Secrets a workload's rollout depends
	// on, instead of Client's cache: with sharded caches a replica caches only its shards'
	// ones, and a workload's may be in any shard (it reads them from the API server).
	Sources client.Reader
	// Shards, when set, decides which replica reconciles an event: a workload's own change
	// by the replica leading the workload's shard; a Secret's change by the replica leading
	// the shard the Secret is labelled with (the one that caches it and its ExternalSecret),
	// and an unlabelled Secret's or a ConfigMap's by each workload's.
	Shards Shards
}

// Shards tells which shards this replica leads (controllers/sharding).
type Shards interface {
	Owns(key types.NamespacedName) bool
	// LeadsLabelled reports whether the object carries a shard label (labelled) and this
	// replica leads that shard (leads).
	LeadsLabelled(o metav1.Object) (leads, labelled bool)
}

// sources reads the ExternalSecrets and Secrets behind rollouts.
func (r *Reconciler) sources() client.Reader {
	if r.Sources != nil {
		return r.Sources
	}
	return r.Client
}

// configMaps reports whether ConfigMap changes roll workloads (rollouts.scope all).
func (r *Reconciler) configMaps() bool { return r.Options.Scope == ScopeAll }

// Reconcile compares the hashes of the workload's trigger Secrets and ConfigMaps with those
// its pods were started with and rolls it when one differs.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.Kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() || (r.Kind.LeaveControlled && metav1.GetControllerOf(obj) != nil) {
		return ctrl.Result{}, nil
	}
	resumeIn, err := r.resumeIfDue(ctx, obj, r.Clock.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	current, esNames, err := r.currentHashes(ctx, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	recorded, err := r.recordedHashes(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	changed := changedSecrets(recorded, current)
	if len(changed) == 0 {
		return ctrl.Result{RequeueAfter: resumeIn}, r.recordBaseline(ctx, obj, recorded, current)
	}
	res, err := r.roll(ctx, obj, current, changed, esNames)
	if resumeIn > 0 && (res.RequeueAfter == 0 || resumeIn < res.RequeueAfter) {
		res.RequeueAfter = resumeIn
	}
	return res, err
}

// currentHashes hashes the data of every Secret and ConfigMap that triggers this workload
// (keyed as source.key). It also returns the ExternalSecrets behind those Secrets, for
// events.
func (r *Reconciler) currentHashes(
	ctx context.Context, obj client.Object,
) (map[string]string, map[string][]string, error) {
	tmpl, err := r.Kind.Template(obj)
	if err != nil {
		return nil, nil, err
	}
	workload, template := obj.GetAnnotations(), tmpl.Annotations
	refs := referencesOf(&tmpl.Spec)
	targets, err := r.externalSecretTargets(ctx, obj, effectiveAnnotations(KindSecret, workload, template))
	if err != nil {
		return nil, nil, err
	}
	kinds := []struct {
		kind                 string
		referenced, targeted []string
	}{{KindSecret, refs.Secrets, targets}}
	if r.configMaps() {
		kinds = append(kinds, struct {
			kind                 string
			referenced, targeted []string
		}{KindConfigMap, refs.ConfigMaps, nil})
	}
	current, esNames := map[string]string{}, map[string][]string{}
	for _, k := range kinds {
		found, err := r.listKind(ctx, obj.GetNamespace(), k.kind)
		if err != nil {
			return nil, nil, err
		}
		reloadList := effectiveAnnotations(k.kind, workload, template)[annotationsFor(k.kind).reload]
		r.refuseLongList(obj, k.kind, reloadList)
		for _, src := range candidates(k.kind, found, k.referenced, k.targeted, reloadList) {
			if !shouldRoll(src, workload, template) {
				continue
			}
			f := found[src.Name]
			current[src.key()] = f.hash()
			if f.owner != "" {
				esNames[src.key()] = append(esNames[src.key()], f.owner)
			}
		}
	}
	return current, esNames, nil
}

// refuseLongList says, on the workload, that a reload list over MaxReloadListLength or
// MaxReloadListEntries names nothing.
func (r *Reconciler) refuseLongList(obj client.Object, kind, list string) {
	name := annotationsFor(kind).reload
	if len(list) > MaxReloadListLength {
		r.Metrics.RolloutSkipped("reloadlisttoolong")
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, "RolloutSkipped", "Rollout",
			"%s is %d characters, over the limit of %d, so it names no %s: list fewer names or use one pattern (e.g. app-.*)",
			name, len(list), MaxReloadListLength, kind)
		return
	}
	if n := len(reloadListEntries(list)); n > MaxReloadListEntries {
		r.Metrics.RolloutSkipped("reloadlisttoolong")
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, "RolloutSkipped", "Rollout",
			"%s has %d entries, over the limit of %d, so it names no %s: list fewer names or use one pattern (e.g. app-.*)",
			name, n, MaxReloadListEntries, kind)
	}
}

// externalSecretTargets returns the Secrets of ExternalSecrets that name this workload in
// vigil.dev/rollout-targets and that the workload opted in to (optIn: its effective
// annotations for Secrets). An ExternalSecret naming a
// workload that did not opt in gets a Warning event saying how to opt in; the workload is
// not touched.
func (r *Reconciler) externalSecretTargets(
	ctx context.Context, obj client.Object, optIn map[string]string,
) ([]string, error) {
	var list esv1.ExternalSecretList
	want := r.Kind.Name + "/" + obj.GetName()
	opts := []client.ListOption{client.InNamespace(obj.GetNamespace())}
	if r.Sources == nil {
		opts = append(opts, client.MatchingFields{rolloutTargetIndex: want}) // the cache's index
	}
	if err := r.sources().List(ctx, &list, opts...); err != nil {
		return nil, err
	}
	var out []string
	for i := range list.Items {
		es := &list.Items[i]
		if !slices.Contains(parseTargets(es.Annotations[AnnotationRolloutTargets]), want) {
			continue
		}
		secret := target.Name(es)
		if targetOptedIn(optIn, secret) {
			out = append(out, secret)
			continue
		}
		r.Metrics.RolloutSkipped("notoptedin")
		r.Events.Eventf(es, obj, corev1.EventTypeWarning, "RolloutSkipped", "Rollout",
			"%s %s did not opt in to rollouts, so %s in %s does not restart it: "+
				"annotate the %s (or its pod template) with %s: \"true\" or %s: %q",
			r.Kind.Name, obj.GetName(), AnnotationRolloutTargets, es.Name,
			r.Kind.Name, AnnotationRolloutOnChange, ReloaderSecretReload, secret)
	}
	return out, nil
}

// recordedHashes are the hashes the pods were last started with: the workload's record,
// else its pod template's.
func (r *Reconciler) recordedHashes(obj client.Object) (map[string]string, error) {
	if v, ok := obj.GetAnnotations()[AnnotationSecretHashes]; ok {
		return parseHashes(v), nil
	}
	tmpl, err := r.Kind.Template(obj)
	if err != nil {
		return nil, err
	}
	return parseHashes(tmpl.Annotations[AnnotationSecretHashes]), nil
}

// changedSecrets are the Secrets whose recorded hash differs from the current one. A Secret
// with no recorded hash is new to the record, not changed: the pods started with what it
// holds now.
func changedSecrets(recorded, current map[string]string) []string {
	var out []string
	for name, h := range current {
		if old, ok := recorded[name]; ok && old != h {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// recordBaseline writes the current hashes to the workload's metadata (which rolls nothing)
// when the record lacks a Secret or holds one that no longer triggers.
func (r *Reconciler) recordBaseline(ctx context.Context, obj client.Object, recorded, current map[string]string) error {
	if formatHashes(recorded) == formatHashes(current) {
		return nil
	}
	if _, ok := obj.GetAnnotations()[AnnotationSecretHashes]; !ok && len(current) == 0 {
		return nil
	}
	before := obj.DeepCopyObject().(client.Object)
	setObjAnnotation(obj, AnnotationSecretHashes, formatHashes(current))
	return client.IgnoreNotFound(r.Client.Patch(ctx, obj, client.MergeFrom(before)))
}

// roll restarts the workload's pods, unless it is paused, rolled too recently, or looping.
func (r *Reconciler) roll(
	ctx context.Context, obj client.Object, current map[string]string, changed []string, esNames map[string][]string,
) (ctrl.Result, error) {
	now := r.Clock.Now()
	what := describe(changed) + " changed"
	if r.Kind.Paused(obj) {
		r.skip(ctx, obj, changed, esNames, "Paused", what+"; the workload is paused, so it rolls when resumed")
		return ctrl.Result{}, nil
	}
	history := recentRollouts(obj.GetAnnotations()[AnnotationRolloutHistory], now)
	if len(history) > 0 {
		if wait := history[len(history)-1].Add(r.Options.MinInterval).Sub(now); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	before := obj.DeepCopyObject().(client.Object)
	setObjAnnotation(obj, AnnotationSecretHashes, formatHashes(current))
	if r.Options.MaxPerHour > 0 && len(history) >= r.Options.MaxPerHour {
		// A loop, not a rotation: record the hashes so that it stops here, and say so.
		if err := r.Client.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		r.Metrics.Rollout(r.Kind.Name, "stopped", 0)
		r.skip(ctx, obj, changed, esNames, "Loop", fmt.Sprintf(
			"%s, but the workload was already rolled %d times in the last hour; stopped as a loop (limit %d)",
			what, len(history), r.Options.MaxPerHour))
		return ctrl.Result{}, nil
	}
	setObjAnnotation(obj, AnnotationRolloutHistory, formatHistory(append(history, now)))
	pause := r.beginPause(obj, now)
	if err := r.write(ctx, obj, before, formatHashes(current), now); err != nil {
		r.Metrics.Rollout(r.Kind.Name, "failed", 0)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.Metrics.Rollout(r.Kind.Name, "success", r.Changes.Since(obj.GetNamespace(), changed, now))
	msg := what + "; rolling out " + r.Kind.Name + " " + obj.GetName()
	if pause > 0 {
		msg += fmt.Sprintf(", paused for %s (%s) so that the changes of that time roll out together",
			pause, ReloaderPausePeriod)
	}
	r.event(ctx, obj, changed, esNames, corev1.EventTypeNormal, "RolloutTriggered", msg)
	return ctrl.Result{RequeueAfter: pause}, nil
}

// write rolls the workload through its kind, within the global limit on concurrent rollouts.
func (r *Reconciler) write(ctx context.Context, obj, before client.Object, hashes string, now time.Time) error {
	select {
	case r.Slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.Slots }()
	return r.Kind.Roll(ctx, r.Client, obj, before, hashes, now)
}

func (r *Reconciler) skip(
	ctx context.Context, obj client.Object, changed []string, esNames map[string][]string, reason, msg string,
) {
	r.Metrics.RolloutSkipped(strings.ToLower(reason))
	r.event(ctx, obj, changed, esNames, corev1.EventTypeWarning, "RolloutSkipped", msg)
}

// event records an event on the workload and on each ExternalSecret behind a changed Secret.
func (r *Reconciler) event(
	ctx context.Context, obj client.Object, changed []string, esNames map[string][]string, typ, reason, msg string,
) {
	r.Events.Eventf(obj, nil, typ, reason, "Rollout", "%s", msg)
	seen := map[string]bool{}
	for _, name := range changed {
		for _, es := range esNames[name] {
			if seen[es] {
				continue
			}
			seen[es] = true
			ref := &esv1.ExternalSecret{}
			ref.Namespace, ref.Name = obj.GetNamespace(), es
			if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: es}, ref); err == nil {
				r.Events.Eventf(ref, obj, typ, reason, "Rollout", "%s: %s %s", msg, r.Kind.Name, obj.GetName())
			}
		}
	}
}

// recentRollouts parses the rollout history and keeps the last hour, oldest first.
func recentRollouts(v string, now time.Time) []time.Time {
	var out []time.Time
	for _, f := range strings.Split(v, ",") {
		sec, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			continue
		}
		if t := time.Unix(sec, 0); now.Sub(t) < time.Hour {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func formatHistory(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = strconv.FormatInt(t.Unix(), 10)
	}
	return strings.Join(parts, ",")
}

func setObjAnnotation(obj client.Object, k, v string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[k] = v
	obj.SetAnnotations(a)
}

// controllerOf returns the name of the ExternalSecret that controls a Secret, if any.
func controllerOf(s *corev1.Secret) string {
	for _, o := range s.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.Kind == esv1.ExternalSecretKind {
			return o.Name
		}
	}
	return ""
}

// ChangeTimes remembers when Secrets changed, to measure the delay to their rollouts.
type ChangeTimes struct {
	mu sync.Mutex
	at map[string]time.Time
}

// NewChangeTimes returns an empty record.
func NewChangeTimes() *ChangeTimes { return &ChangeTimes{at: map[string]time.Time{}} }

// Mark records a change of a Secret, keeping the earliest unrolled one.
func (c *ChangeTimes) Mark(namespace, name string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.at[namespace+"/"+name]; !ok {
		c.at[namespace+"/"+name] = t
	}
}

// Since returns the longest time since a change of the named Secrets, and forgets them.
func (c *ChangeTimes) Since(namespace string, names []string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var longest time.Duration
	for _, n := range names {
		if t, ok := c.at[namespace+"/"+n]; ok {
			longest = max(longest, now.Sub(t))
			delete(c.at, namespace+"/"+n)
		}
	}
	return longest
}
