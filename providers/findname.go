package providers

import "regexp"

// FindName returns the matcher of a find's name expression (find.name.regexp, Go's RE2
// syntax, which matches in linear time): every name matches when the expression is empty.
// An expression that does not compile is the store user's configuration error, named as
// such. Every provider's Find compiles the expression here, so the rule and the message
// are the same whichever backend a store reads.
func FindName(expr string) (func(name string) bool, error) {
	if expr == "" {
		return func(string) bool { return true }, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, Configf("find.name.regexp %q: %v", expr, err)
	}
	return re.MatchString, nil
}
