package gcp

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"

	"github.com/vigil-dev/vigil/providers"
)

// listPageSize is how many secrets one ListSecrets page asks for.
const listPageSize = 250

// Find implements providers.Finder: ListSecrets selects the secrets on the server (labels
// with find.tags, a name containing find.path), the name expression and the path prefix are
// applied here, and the latest version of each match is read.
func (c *storeClient) Find(ctx context.Context, ref providers.FindRef) (map[string][]byte, error) {
	keep, err := providers.FindName(ref.Name)
	if err != nil {
		return nil, err
	}
	if err := checkFind(ref); err != nil {
		return nil, err
	}
	names, err := c.list(ctx, filterOf(ref), func(id string) bool {
		return strings.HasPrefix(id, ref.Path) && keep(id)
	}, providers.MaxFindResults)
	if err != nil {
		return nil, err
	}
	out := providers.NewFindResults()
	for _, id := range names {
		if err := out.Room(); err != nil {
			return nil, err
		}
		v, err := c.GetSecret(ctx, providers.Ref{Key: id})
		if err != nil {
			return nil, err
		}
		if err := out.Add(id, v); err != nil {
			return nil, err
		}
	}
	return out.Values(), nil
}

// pathChars: a secret id's characters. Label keys and values are checked by labelOK, not by
// a regexp: `[\p{Ll}\p{Lo}\p{N}_-]{0,63}` compiles into sixty-three copies of the Unicode
// classes, about 2 MB each that the process would keep for its whole life.
var pathChars = regexp.MustCompile(`^[a-zA-Z0-9_-]{0,255}$`)

// labelOK reports whether s is a Secret Manager label key (key true: it starts with a
// letter and is not empty) or value: at most 63 characters, each a lowercase or caseless
// letter (\p{Ll}, \p{Lo}), a digit (\p{N}), _ or -.
func labelOK(s string, key bool) bool {
	if utf8.RuneCountInString(s) > 63 || !utf8.ValidString(s) || key && s == "" {
		return false
	}
	for i, r := range s {
		letter := unicode.IsLower(r) || unicode.In(r, unicode.Lo)
		if !letter && (key && i == 0 || !unicode.IsNumber(r) && r != '_' && r != '-') {
			return false
		}
	}
	return true
}

// checkFind refuses what no secret can match, before it reaches the filter: label keys and
// values as Secret Manager allows them, a path of secret-id characters.
func checkFind(ref providers.FindRef) error {
	for k, v := range ref.Tags {
		if !labelOK(k, true) || !labelOK(v, false) {
			return providers.Configf("find.tags %q: Secret Manager labels have lowercase keys and values of letters, "+
				"digits, _ and - (keys start with a letter, at most 63 characters)", providers.Truncate(k, 64))
		}
	}
	if !pathChars.MatchString(ref.Path) {
		return providers.Configf("find.path %q: Secret Manager secret ids have letters, digits, _ and - only",
			providers.Truncate(ref.Path, 256))
	}
	return nil
}

// filterOf is the ListSecrets filter of a find, in Google's filter syntax: every term must
// hold (checkFind has kept the syntax's own characters out of the terms).
func filterOf(ref providers.FindRef) string {
	var terms []string
	for _, k := range slices.Sorted(maps.Keys(ref.Tags)) {
		terms = append(terms, "labels."+k+"="+ref.Tags[k])
	}
	if ref.Path != "" {
		terms = append(terms, "name:"+ref.Path)
	}
	return strings.Join(terms, " AND ")
}

// list returns the ids of the store's secrets that the filter selects and keep accepts, in
// the order of the listing; more than most matches, or more than MaxFindScanned listed, is
// a limit error.
func (c *storeClient) list(ctx context.Context, filter string, keep func(string) bool, most int) ([]string, error) {
	var ids []string
	err := c.call(ctx, "ListSecrets", func(ctx context.Context) error {
		it := c.sm.ListSecrets(ctx, &smpb.ListSecretsRequest{Parent: c.parent(), Filter: filter, PageSize: listPageSize})
		for scanned := 0; ; scanned++ {
			s, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return nil
			}
			if err != nil {
				return err
			}
			if scanned >= providers.MaxFindScanned {
				return providers.LimitError("find listed more than %d secrets; narrow it with find.path, find.name "+
					"or find.tags", providers.MaxFindScanned)
			}
			// Google names secrets by project number in answers: the id is what follows /secrets/.
			_, id, _ := strings.Cut(s.GetName(), "/secrets/")
			if keep(id) {
				ids = append(ids, id)
			}
			if len(ids) > most {
				return providers.TooManyFound()
			}
		}
	})
	if err != nil {
		var own *providers.OwnError
		if errors.As(err, &own) {
			return nil, err
		}
		return nil, c.apiError("ListSecrets", "", c.parent(), err)
	}
	return ids, nil
}

// ListNames implements providers.NameLister: one page of secret ids, no value, for the hint
// of a missing key.
func (c *storeClient) ListNames(ctx context.Context, key string) ([]string, error) {
	var ids []string
	err := c.call(ctx, "ListSecrets", func(ctx context.Context) error {
		it := c.sm.ListSecrets(ctx, &smpb.ListSecretsRequest{Parent: c.parent(), PageSize: providers.MaxSuggestNames})
		for len(ids) < providers.MaxSuggestNames {
			s, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return nil
			}
			if err != nil {
				return err
			}
			_, id, _ := strings.Cut(s.GetName(), "/secrets/")
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, c.apiError("ListSecrets", key, c.parent(), err)
	}
	return ids, nil
}
