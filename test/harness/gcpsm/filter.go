package gcpsm

import (
	"strings"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
)

// parseFilter reads the part of Google's list filter syntax that selects secrets by name and
// labels: terms separated by spaces (or AND) must all hold; a term is name:<text> (the name
// contains text), labels.<key>=<value>, labels.<key>:<value>, labels.<key>:* or labels:<key>.
// Anything else is refused with InvalidArgument, as the service refuses a filter it cannot
// parse.
func parseFilter(filter string) (func(*smpb.Secret) bool, error) {
	var terms []func(*smpb.Secret) bool
	for _, t := range strings.Fields(filter) {
		if t == "AND" {
			continue
		}
		m, err := parseTerm(t)
		if err != nil {
			return nil, err
		}
		terms = append(terms, m)
	}
	return func(s *smpb.Secret) bool {
		for _, m := range terms {
			if !m(s) {
				return false
			}
		}
		return true
	}, nil
}

func parseTerm(t string) (func(*smpb.Secret) bool, error) {
	i := strings.IndexAny(t, ":=")
	if i <= 0 {
		return nil, invalid("Invalid filter term %q.", t)
	}
	field, op, value := t[:i], t[i], strings.Trim(t[i+1:], `"`)
	switch {
	case field == "name" && op == ':':
		return func(s *smpb.Secret) bool { return strings.Contains(s.GetName(), value) }, nil
	case field == "labels" && op == ':':
		return func(s *smpb.Secret) bool { _, ok := s.GetLabels()[value]; return ok }, nil
	case strings.HasPrefix(field, "labels."):
		key := strings.TrimPrefix(field, "labels.")
		return func(s *smpb.Secret) bool {
			v, ok := s.GetLabels()[key]
			return ok && (value == "*" && op == ':' || v == value)
		}, nil
	}
	return nil, invalid("Invalid filter term %q: unsupported field.", t)
}
