package vault

import (
	"context"
	"fmt"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vigil-dev/vigil/providers"
)

// Find implements providers.Finder for KV v2: it walks the metadata tree below the path (the
// mount's root without one), keeps secrets whose path matches the name expression and whose
// custom_metadata holds every tag, and reads them. Names are paths relative to the mount.
func (c *Client) Find(ctx context.Context, ref providers.FindRef) (map[string][]byte, error) {
	if !c.kv2 {
		return nil, providers.Configf("find needs a KV version 2 engine (version 1 keeps no metadata to list)")
	}
	if c.mount == "" {
		return nil, providers.Configf("find needs spec.provider.vault.path: the mount to search")
	}
	matches, err := providers.FindName(ref.Name)
	if err != nil {
		return nil, err
	}
	var paths []string
	if err := c.walk(ctx, strings.Trim(ref.Path, "/"), &paths); err != nil {
		return nil, err
	}
	out := providers.NewFindResults()
	for _, p := range paths {
		if !matches(p) {
			continue
		}
		if len(ref.Tags) > 0 {
			tags, err := c.GetMetadata(ctx, providers.Ref{Key: p})
			if err != nil {
				return nil, err
			}
			if !hasTags(tags, ref.Tags) {
				continue
			}
		}
		if err := out.Room(); err != nil {
			return nil, err
		}
		v, err := c.GetSecret(ctx, providers.Ref{Key: p})
		if err != nil {
			return nil, err
		}
		if err := out.Add(p, v); err != nil {
			return nil, err
		}
	}
	return out.Values(), nil
}

// walk lists dir recursively (LIST <mount>/metadata/<dir>) and appends the secret paths.
func (c *Client) walk(ctx context.Context, dir string, paths *[]string) error {
	s, err := c.call(ctx, "ListSecrets", func() (*vaultapi.Secret, error) {
		return c.api.Logical().ListWithContext(ctx, c.mount+"/metadata/"+dir)
	})
	if err != nil {
		return fmt.Errorf("listing %s/%s: %w", c.mount, dir, err)
	}
	if s == nil {
		return nil // nothing below dir
	}
	keys, _ := s.Data["keys"].([]any)
	for _, k := range keys {
		name, _ := k.(string)
		full := strings.TrimPrefix(dir+"/"+name, "/")
		if len(*paths) >= providers.MaxFindScanned {
			// An unbounded walk of a large mount would hold a worker and memory for long.
			return providers.LimitError(
				"find listed more than %d secrets below the path before filtering them, the most one "+
					"find may look at; narrow find.path", providers.MaxFindScanned)
		}
		if strings.HasSuffix(name, "/") {
			if err := c.walk(ctx, strings.TrimSuffix(full, "/"), paths); err != nil {
				return err
			}
			continue
		}
		*paths = append(*paths, full)
	}
	return nil
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// ListNames implements providers.NameLister: one LIST of the key's parent (KV v2 metadata,
// or the KV v1 path), names only.
func (c *Client) ListNames(ctx context.Context, key string) ([]string, error) {
	mount, rest, err := c.path(key)
	if err != nil {
		return nil, err
	}
	dir := providers.ParentPrefix(rest)
	p := mount + "/" + dir
	if c.kv2 {
		p = mount + "/metadata/" + dir
	}
	s, err := c.call(ctx, "ListSecrets", func() (*vaultapi.Secret, error) {
		return c.api.Logical().ListWithContext(ctx, p)
	})
	if err != nil || s == nil {
		return nil, err
	}
	keys, _ := s.Data["keys"].([]any)
	// Names as the key writes them: with the mount when the key has it.
	prefix := strings.TrimSuffix(key, rest) + dir
	var names []string
	for _, k := range keys {
		if name, ok := k.(string); ok && len(names) < providers.MaxSuggestNames {
			names = append(names, prefix+name)
		}
	}
	return names, nil
}
