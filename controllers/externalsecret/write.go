package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
	"github.com/vigil-dev/vigil/controllers/internal/target"
	"github.com/vigil-dev/vigil/controllers/sharding"
)

// mergeWait is how long an ExternalSecret with creationPolicy Merge waits for its Secret.
const mergeWait = time.Minute

// Vigil's marks on the Secrets it writes (beside ESO's managed label and data hash).
const (
	// annotationOwner names the ExternalSecret that wrote a Secret with creationPolicy
	// Owner or Orphan. With the managed label it is what lets an ExternalSecret update a
	// Secret that it does not control (Orphan); an Owner Secret is recognised by its
	// controller reference.
	annotationOwner = "vigil.dev/external-secret"
	// annotationManagedKeys records, for each ExternalSecret with creationPolicy Merge that
	// writes into a Secret, the keys it wrote ("app=password,token;cache=url"): deletionPolicy
	// Merge removes only this ExternalSecret's keys whose remote data is gone, never a key
	// someone added by hand or another ExternalSecret merged in. Names only, never values.
	annotationManagedKeys = "vigil.dev/managed-keys"
)

// writeSecret brings the target Secret in line with the fetched data, as the creation
// policy says. It writes only when something changed. deleted reports that the Secret was
// deleted because its remote data is gone (deletionPolicy Delete).
func (r *Reconciler) writeSecret(
	ctx context.Context, es *esv1.ExternalSecret, out *rendered, missing int,
) (deleted bool, err error) {
	deleted, err = r.write(ctx, es, out, missing)
	// Messages are built from names and reasons; the redaction is the safety net for a
	// name (a rendered key) that equals a value.
	return deleted, outcome.MapMessage(err, func(msg string) string { return redact(msg, out.secrets()) })
}

func (r *Reconciler) write(
	ctx context.Context, es *esv1.ExternalSecret, out *rendered, missing int,
) (deleted bool, err error) {
	data := out.data
	policy := es.Spec.Target.CreationPolicy
	if policy == esv1.CreatePolicyNone {
		return false, nil
	}
	// Owner and Orphan read only the cache (managed Secrets, values stripped: they are
	// replaced whole, and compared by hash): a Secret it does not hold is created, and an
	// existing one the create runs into is read from the API server then. This spares a
	// read per new Secret, the most common write at scale. Merge keeps the Secret's other
	// values, which the cache does not hold, so it reads the API server.
	var reader client.Reader = r.Client
	if policy == esv1.CreatePolicyMerge {
		reader = r.APIReader
	}
	existing, err := r.getSecret(ctx, es, reader)
	if err != nil {
		return false, outcome.Transient(esv1.ReasonSecretSyncedError, err)
	}
	if err := checkSize(es, existing, data); err != nil {
		return false, err
	}
	if missing > 0 && len(data) == 0 && es.Spec.Target.DeletionPolicy == esv1.DeletionPolicyDelete {
		return true, r.deleteSecret(ctx, es, existing)
	}
	if policy == esv1.CreatePolicyMerge {
		if existing != nil {
			if err := checkDataKeys(es, out); err != nil {
				return false, err
			}
		}
		return false, r.mergeSecret(ctx, es, existing, data)
	}
	if err := checkMetadata(es, out); err != nil {
		return false, err
	}
	err = r.ownSecret(ctx, es, existing, out)
	if existing == nil && apierrors.IsAlreadyExists(err) {
		if existing, err = r.getSecret(ctx, es, r.APIReader); err != nil {
			return false, outcome.Transient(esv1.ReasonSecretSyncedError, err)
		}
		err = r.ownSecret(ctx, es, existing, out)
	}
	return false, err
}

// maxSecretSize is the API server's limit on the total size of a Secret's values.
const maxSecretSize = 1 << 20

// checkSize refuses data the API server would refuse, with a message that says what to do;
// it is checked again at the next refresh, when the remote data may have shrunk.
func checkSize(es *esv1.ExternalSecret, existing *corev1.Secret, data map[string][]byte) error {
	total := 0
	for _, v := range data {
		total += len(v)
	}
	if es.Spec.Target.CreationPolicy == esv1.CreatePolicyMerge && existing != nil {
		for k, v := range existing.Data {
			if _, ours := data[k]; !ours {
				total += len(v)
			}
		}
	}
	if total <= maxSecretSize {
		return nil
	}
	wait := refreshInterval(es)
	if wait == 0 {
		wait = 5 * time.Minute
	}
	return outcome.Waiting(esv1.ReasonSecretSyncedError, fmt.Errorf("the Secret's values would total %d bytes, over "+
		"Kubernetes' limit of %d (1 MiB): select fewer keys (data, find filters) or split them across several "+
		"ExternalSecrets; the Secret was left as it was", total, maxSecretSize), wait)
}

// getSecret reads the target Secret from reader: the cache (managed Secrets, without
// values) or the API server; nil when there is none.
func (r *Reconciler) getSecret(
	ctx context.Context, es *esv1.ExternalSecret, reader client.Reader,
) (*corev1.Secret, error) {
	key := types.NamespacedName{Namespace: es.Namespace, Name: target.Name(es)}
	s := &corev1.Secret{}
	err := reader.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apiError("reading", key.Name, err)
	}
	return s, nil
}

// ownSecret creates or updates a Secret for creationPolicy Owner or Orphan. The Secret
// holds exactly the fetched data.
func (r *Reconciler) ownSecret(
	ctx context.Context, es *esv1.ExternalSecret, existing *corev1.Secret, out *rendered,
) error {
	desired := existing.DeepCopy()
	if existing == nil {
		desired = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: es.Namespace, Name: target.Name(es)}}
	}
	secrethash.Writable(desired)
	if err := r.checkOwnership(es, existing); err != nil {
		return err
	}
	if t := es.Spec.Target.Template; t != nil && t.Type == corev1.SecretTypeServiceAccountToken {
		// The API server would fill such a Secret with a token of the ServiceAccount it
		// names: an ExternalSecret must not mint Kubernetes credentials.
		return outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("spec.target.template.type %s is refused: Vigil "+
			"never writes ServiceAccount token Secrets; use Opaque", t.Type))
	}
	if t := es.Spec.Target.Template; t != nil && t.Type != "" {
		if existing != nil && existing.Type != t.Type {
			return outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("Secret %s has type %s and "+
				"spec.target.template.type asks for %s; a Secret's type cannot change, so delete the Secret to let Vigil "+
				"recreate it", desired.Name, existing.Type, t.Type))
		}
		desired.Type = t.Type
	}
	if desired.Type == "" {
		desired.Type = corev1.SecretTypeOpaque
	}
	desired.Data = out.data
	r.stamp(desired, out)
	desired.Annotations[annotationOwner] = es.Name
	if r.ShardCount > 1 {
		desired.Labels[sharding.Label] = sharding.LabelValue(client.ObjectKeyFromObject(es), r.ShardCount)
	}
	if es.Spec.Target.Immutable {
		desired.Immutable = ptrTo(true)
	}
	if es.Spec.Target.CreationPolicy == esv1.CreatePolicyOwner {
		if err := controllerutil.SetControllerReference(es, desired, r.Client.Scheme()); err != nil {
			return outcome.Terminal(esv1.ReasonSecretSyncedError, errors.New("setting this ExternalSecret as the Secret's "+
				"controller failed"))
		}
	}
	return r.apply(ctx, es, existing, desired)
}

// checkOwnership refuses to write, with creationPolicy Owner or Orphan, into a Secret that
// does not carry this ExternalSecret's marks: a controller reference to this ExternalSecret
// (Owner; ESO writes the same), or the managed label with Vigil's owner annotation naming
// it (Orphan). Anything else is someone's hand-made Secret, a Helm release's or
// another ExternalSecret's, and overwriting it would destroy data Vigil cannot restore.
// Nothing is written to a refused Secret, not even a label.
func (r *Reconciler) checkOwnership(es *esv1.ExternalSecret, existing *corev1.Secret) error {
	if existing == nil {
		return nil
	}
	policy := es.Spec.Target.CreationPolicy
	if policy == "" {
		policy = esv1.CreatePolicyOwner
	}
	owner := metav1.GetControllerOf(existing)
	if owner != nil && owner.UID != es.UID {
		return outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("Secret %s is controlled by %s %q, not by this "+
			"ExternalSecret; Vigil will not overwrite it with creationPolicy %s: point spec.target.name at another Secret, "+
			"or use creationPolicy Merge to add this ExternalSecret's keys to it",
			existing.Name, owner.Kind, owner.Name, policy))
	}
	handedOver := existing.Labels[esv1.LabelManaged] == esv1.LabelManagedValue &&
		existing.Annotations[annotationOwner] == es.Name
	if owner != nil || handedOver {
		return nil
	}
	return outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("Secret %s already exists and was not written by "+
		"this ExternalSecret (it does not carry both the label %s=%s and the annotation %s=%s); Vigil will not overwrite "+
		"it with creationPolicy %s: to hand it over, add that label and annotation to it; to add this ExternalSecret's "+
		"keys to it, use creationPolicy Merge; or point spec.target.name at another Secret",
		existing.Name, esv1.LabelManaged, esv1.LabelManagedValue, annotationOwner, es.Name, policy))
}

// mergeSecret writes the fetched keys into a Secret that must already exist, leaving its
// other keys alone. The keys it writes are recorded on the Secret; a recorded key that is no
// longer fetched (its remote data is gone, or the spec dropped it) is removed unless
// deletionPolicy is Retain. A key someone else added is never removed.
func (r *Reconciler) mergeSecret(
	ctx context.Context, es *esv1.ExternalSecret, existing *corev1.Secret, data map[string][]byte,
) error {
	if existing == nil {
		return outcome.Waiting(esv1.ReasonSecretMissing, fmt.Errorf("Secret %s does not exist; creationPolicy Merge only "+
			"writes into an existing Secret: create it, or use creationPolicy Owner", target.Name(es)), mergeWait)
	}
	return r.apply(ctx, es, existing, merged(es, existing, data))
}

// merged is existing with the fetched keys written in, this ExternalSecret's recorded keys
// that are no longer fetched removed (unless deletionPolicy is Retain), and the record
// updated.
func merged(es *esv1.ExternalSecret, existing *corev1.Secret, data map[string][]byte) *corev1.Secret {
	desired := existing.DeepCopy()
	secrethash.Writable(desired)
	if desired.Data == nil {
		desired.Data = map[string][]byte{}
	}
	records := managedKeys(existing)
	ours := map[string]bool{}
	for _, k := range records[es.Name] {
		if _, fetched := data[k]; fetched {
			continue
		}
		retain := es.Spec.Target.DeletionPolicy == esv1.DeletionPolicyRetain || es.Spec.Target.DeletionPolicy == ""
		if retain || recordedByOther(records, es.Name, k) {
			if _, kept := existing.Data[k]; kept {
				ours[k] = true
			}
			continue
		}
		delete(desired.Data, k)
	}
	maps.Copy(desired.Data, data)
	for k := range data {
		ours[k] = true
	}
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	desired.Annotations[esv1.AnnotationDataHash] = dataHash(existing.Type, data)
	records[es.Name] = slices.Sorted(maps.Keys(ours))
	desired.Annotations[annotationManagedKeys] = formatManagedKeys(records)
	return desired
}

// managedKeys reads the keys each Merge ExternalSecret recorded on the Secret. A record
// without an ExternalSecret's name (written before names were recorded) is dropped: its
// keys are left alone, as keys added by hand are.
func managedKeys(s *corev1.Secret) map[string][]string {
	records := map[string][]string{}
	for _, rec := range strings.Split(s.Annotations[annotationManagedKeys], ";") {
		name, list, ok := strings.Cut(rec, "=")
		if !ok || name == "" || list == "" {
			continue
		}
		records[name] = strings.Split(list, ",")
	}
	return records
}

// formatManagedKeys writes the records back, sorted by name; an ExternalSecret that wrote
// no key has no record. ExternalSecret names and Secret keys hold no '=', ';' or ','.
func formatManagedKeys(records map[string][]string) string {
	var recs []string
	for _, name := range slices.Sorted(maps.Keys(records)) {
		if len(records[name]) > 0 {
			recs = append(recs, name+"="+strings.Join(records[name], ","))
		}
	}
	return strings.Join(recs, ";")
}

// recordedByOther reports whether another ExternalSecret recorded key k too: then it is
// that one's key as well, and it is not removed.
func recordedByOther(records map[string][]string, self, k string) bool {
	for name, keys := range records {
		if name != self && slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

// stamp adds the managed label, the data hash and the template's labels and annotations.
func (r *Reconciler) stamp(s *corev1.Secret, out *rendered) {
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	maps.Copy(s.Labels, out.labels)
	maps.Copy(s.Annotations, out.annotations)
	s.Labels[esv1.LabelManaged] = esv1.LabelManagedValue
	s.Annotations[esv1.AnnotationDataHash] = dataHash(s.Type, out.data)
}

// apply creates or updates the Secret when desired differs from existing, and records an
// event. Nothing is written when they are equal.
func (r *Reconciler) apply(ctx context.Context, es *esv1.ExternalSecret, existing, desired *corev1.Secret) error {
	secrethash.Writable(desired)
	if existing == nil {
		if err := r.Client.Create(ctx, desired); err != nil {
			return outcome.Transient(esv1.ReasonSecretSyncedError, apiError("creating", desired.Name, err))
		}
		r.Events.Eventf(es, desired, corev1.EventTypeNormal, "Created", "Sync", "Created Secret %s", desired.Name)
		return nil
	}
	if unchanged(existing, desired) {
		return nil
	}
	if existing.Immutable != nil && *existing.Immutable {
		return r.recreate(ctx, es, existing, desired)
	}
	if err := r.Client.Update(ctx, desired); err != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, apiError("updating", desired.Name, err))
	}
	r.Events.Eventf(es, desired, corev1.EventTypeNormal, "Updated", "Sync", "Updated Secret %s", desired.Name)
	return nil
}

// unchanged reports whether writing desired would change nothing: the same metadata, type
// and flags, and data of the same hash. A cached existing Secret carries its data's hash,
// not its values (secrethash.StripValues).
func unchanged(existing, desired *corev1.Secret) bool {
	if secrethash.OfSecret(existing) != secrethash.Of(desired.Type, desired.Data) {
		return false
	}
	a, b := existing.DeepCopy(), desired.DeepCopy()
	secrethash.Writable(a)
	secrethash.Writable(b)
	a.Data, b.Data = nil, nil
	return equality.Semantic.DeepEqual(a, b)
}

// recreate replaces an immutable Secret whose data changed: the API server refuses any
// update to it, so Vigil deletes it (only one this ExternalSecret controls, and only the
// exact object it read) and creates it again with the new data. Pods that mount it see the
// new Secret as they would a rotated one. Other immutable Secrets are left alone.
func (r *Reconciler) recreate(ctx context.Context, es *esv1.ExternalSecret, existing, desired *corev1.Secret) error {
	if !metav1.IsControlledBy(existing, es) {
		return outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("Secret %s is immutable and its data changed, "+
			"and this ExternalSecret does not own it; delete it to let Vigil recreate it", desired.Name))
	}
	unchanged := client.Preconditions{UID: &existing.UID, ResourceVersion: &existing.ResourceVersion}
	if err := r.Client.Delete(ctx, existing, unchanged); client.IgnoreNotFound(err) != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, apiError("deleting immutable (to recreate it with the new "+
			"data)", existing.Name, err))
	}
	fresh := desired.DeepCopy()
	fresh.ResourceVersion, fresh.UID, fresh.CreationTimestamp = "", "", metav1.Time{}
	if err := r.Client.Create(ctx, fresh); err != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, apiError("recreating immutable", fresh.Name, err))
	}
	r.Events.Eventf(es, fresh, corev1.EventTypeNormal, "Recreated", "Sync", "Recreated immutable Secret %s with the "+
		"new data", fresh.Name)
	return nil
}

// deleteSecret deletes the Secret, but only one this ExternalSecret controls.
func (r *Reconciler) deleteSecret(ctx context.Context, es *esv1.ExternalSecret, existing *corev1.Secret) error {
	if existing == nil || !metav1.IsControlledBy(existing, es) {
		return nil
	}
	err := r.Client.Delete(ctx, existing, client.Preconditions{UID: &existing.UID})
	if client.IgnoreNotFound(err) != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, apiError("deleting", existing.Name, err))
	}
	r.Events.Eventf(es, existing, corev1.EventTypeNormal, "Deleted", "Sync", "Deleted Secret %s: its remote data is "+
		"gone (deletionPolicy Delete)", existing.Name)
	return nil
}

func ptrTo[T any](v T) *T { return &v }
