package pushsecret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/providers"
)

// pushToStores writes every spec.data entry to every store, in order, and returns what it
// pushed (status.syncedPushSecrets), also when it stops at a failure.
func (r *Reconciler) pushToStores(
	ctx context.Context, ps *esv1alpha1.PushSecret, stores []esv1.GenericStore, src *source,
) (esv1alpha1.SyncedPushSecretsMap, error) {
	values, sources, err := r.values(ps, src)
	if err != nil {
		return nil, err
	}
	synced := esv1alpha1.SyncedPushSecretsMap{}
	for _, store := range stores {
		p, err := r.pusher(ctx, ps, store)
		if err != nil {
			return synced, err
		}
		key := storeKey(store)
		synced[key] = map[string]esv1alpha1.PushSecretData{}
		for i, d := range ps.Spec.Data {
			if err := pushEntry(ctx, ps, p, d, values[i], sources[i]); err != nil {
				return synced, entryError(ps, i, d, key, err)
			}
			synced[key][statusRef(d)] = d
		}
	}
	return synced, nil
}

// pushEntry writes one value: with updatePolicy IfNotExists only when the remote key (or
// its property) does not exist yet; with Replace (the default) also over a remote secret
// Vigil did not create.
func pushEntry(
	ctx context.Context, ps *esv1alpha1.PushSecret, p providers.Pusher, d esv1alpha1.PushSecretData, value []byte,
	src *providers.PushSource,
) error {
	ref := pushRef(d)
	ref.Source = src
	if ps.Spec.UpdatePolicy == esv1alpha1.PushSecretUpdatePolicyIfNotExists {
		exists, err := p.SecretExists(ctx, ref)
		if err != nil {
			return fmt.Errorf("checking whether it exists: %w", err)
		}
		if exists {
			return nil
		}
	}
	overwrite := ps.Spec.UpdatePolicy != esv1alpha1.PushSecretUpdatePolicyIfNotExists
	return p.PushSecret(ctx, ref, value, overwrite)
}

// entryError names the entry and the store of a failed push, and gives it its kind: a
// remote secret Vigil does not manage is looked at again at the next refresh (its owner
// may hand it over), a configuration error waits for a change, anything else is retried.
func entryError(ps *esv1alpha1.PushSecret, i int, d esv1alpha1.PushSecretData, store string, err error) error {
	wrapped := fmt.Errorf("spec.data[%d] (remote key %s) to %s: %w", i, pushRef(d), store, err)
	var cfg *providers.ConfigError
	switch {
	case errors.Is(err, providers.ErrNotManaged):
		wait := refreshInterval(ps)
		if wait == 0 {
			wait = 5 * time.Minute
		}
		return outcome.Waiting(esv1alpha1.ReasonErrored, wrapped, wait)
	case errors.As(err, &cfg):
		return outcome.Terminal(esv1alpha1.ReasonErrored, wrapped)
	}
	return outcome.Transient(esv1alpha1.ReasonErrored, wrapped)
}

// values returns the value each spec.data entry pushes: the source key match.secretKey
// names, or with none the whole source as a JSON object of strings (ESO's form), after the
// entry's conversionStrategy; and the source each entry sees (its keys after the
// conversionStrategy, with the source Secret's type and metadata). Every value is checked
// against the size limit.
func (r *Reconciler) values(ps *esv1alpha1.PushSecret, src *source) ([][]byte, []*providers.PushSource, error) {
	out := make([][]byte, len(ps.Spec.Data))
	sources := make([]*providers.PushSource, len(ps.Spec.Data))
	limit := r.limits().MaxValueBytes
	for i, d := range ps.Spec.Data {
		keys, err := reverseKeys(d.ConversionStrategy, src.data)
		if err != nil {
			return nil, nil, outcome.Terminal(esv1alpha1.ReasonErrored,
				fmt.Errorf("spec.data[%d].conversionStrategy: %w", i, err))
		}
		sources[i] = &providers.PushSource{
			Data: keys, Type: src.meta.Type, Labels: src.meta.Labels, Annotations: src.meta.Annotations,
		}
		if d.Match.SecretKey == "" {
			out[i] = jsonObject(keys)
		} else {
			v, ok := keys[d.Match.SecretKey]
			if !ok {
				return nil, nil, outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf(
					"spec.data[%d].match.secretKey %q is not a key of the source", i, d.Match.SecretKey))
			}
			out[i] = v
		}
		if len(out[i]) > limit {
			return nil, nil, outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf(
				"spec.data[%d]: the value to push is %d bytes, more than the %d bytes a PushSecret may push "+
					"in one value; push fewer keys in it (match.secretKey)", i, len(out[i]), limit))
		}
	}
	return out, sources, nil
}

// jsonObject is the whole source as ESO pushes it: a JSON object of its keys with the values
// as strings, HTML characters not escaped.
func jsonObject(data map[string][]byte) []byte {
	m := make(map[string]string, len(data))
	for k, v := range data {
		m[k] = string(v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m) // a map of strings always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// unicodeEscape is ESO's escape of a character in a key (conversionStrategy Unicode on the
// read side): _UXXXX_ with four or five hex digits.
var unicodeEscape = regexp.MustCompile(`_U([0-9a-fA-F]{4,5})_`)

// reverseKeys undoes the Unicode escapes in the keys (conversionStrategy ReverseUnicode), so
// that a key read with conversionStrategy Unicode is pushed under its original name. Two keys
// that become one is an error (it names the key, not a value).
func reverseKeys(strategy esv1alpha1.PushSecretConversionStrategy, in map[string][]byte) (map[string][]byte, error) {
	if strategy != esv1alpha1.PushSecretConversionReverseUnicode {
		return in, nil
	}
	out := make(map[string][]byte, len(in))
	for k, v := range in {
		key := unicodeEscape.ReplaceAllStringFunc(k, func(m string) string {
			n, err := strconv.ParseInt(m[2:len(m)-1], 16, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		})
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("two keys of the source become %q", key)
		}
		out[key] = v
	}
	return out, nil
}
