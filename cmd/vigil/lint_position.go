package main

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// position returns the line and column of the field a finding's path names
// ("spec.dataFrom[0].find", `spec.target.template.data["tls.crt"]`) in the document. A field
// the document does not spell out (a missing spec.conditions) points at the nearest field
// above it that it does; a path that is not a field (an IAM statement) at the document.
func (d document) position(path string) (line, column int) {
	n := d.node
	at := n
	for _, seg := range splitPath(path) {
		next, key := child(n, seg)
		if next == nil {
			break
		}
		n, at = next, key
	}
	return at.Line - d.lineOffset, at.Column
}

// child returns the node a path segment names below n and the node whose position stands
// for it: the key of a mapping entry, the element of a list.
func child(n *yaml.Node, seg string) (value, at *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1], n.Content[i]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i]
		}
	}
	return nil, nil
}

// splitPath splits a finding's path into map keys and list indexes: a.b[0]["c.d"] gives
// a, b, 0, c.d. A path with a scheme (iam:…) names no field and gives none.
func splitPath(path string) []string {
	if first, _, _ := strings.Cut(strings.SplitN(path, "[", 2)[0], "."); strings.Contains(first, ":") {
		return nil
	}
	var segs []string
	for path != "" {
		switch {
		case strings.HasPrefix(path, "."):
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			quoted, err := strconv.QuotedPrefix(path[1:])
			key, uerr := strconv.Unquote(quoted)
			if err != nil || uerr != nil || !strings.HasPrefix(path[1+len(quoted):], "]") {
				return segs
			}
			segs, path = append(segs, key), path[len(quoted)+2:]
		case strings.HasPrefix(path, "["):
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return segs
			}
			segs, path = append(segs, path[1:end]), path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs, path = append(segs, path[:end]), path[end:]
		}
	}
	return segs
}
