package safetpl

import (
	"text/template"
	"text/template/parse"
)

// Names of the control functions the instrumented tree calls. A template cannot call them
// itself: they are not defined while it is parsed.
const (
	stepFunc  = "_vigilStep"
	enterFunc = "_vigilEnter"
	leaveFunc = "_vigilLeave"
	outFunc   = "_vigilOut"
)

// instrument rewrites the parse trees of t and of every template it defines:
//
//   - each template body starts with {{_vigilEnter}} and ends with {{_vigilLeave}}, so
//     that every template call is a counted step and nesting is bounded (text/template's
//     own bound, 100000 calls deep, would take gigabytes of stack);
//   - each range body starts with {{_vigilStep}}: a range over 100000000000000, or over a
//     huge list, with an empty body writes nothing, so only a call inside the loop can
//     stop it;
//   - each action that prints a value ends with | _vigilOut, which checks the value's
//     size before fmt formats it (text/template formats a value whole before writing it).
func instrument(t *template.Template) {
	seen := map[*parse.Tree]bool{}
	for _, tt := range t.Templates() {
		tree := tt.Tree
		if tree == nil || tree.Root == nil || seen[tree] {
			continue
		}
		seen[tree] = true
		root := tree.Root
		instrumentList(root)
		nodes := make([]parse.Node, 0, len(root.Nodes)+2)
		nodes = append(nodes, call(root.Pos, enterFunc))
		nodes = append(nodes, root.Nodes...)
		root.Nodes = append(nodes, call(root.Pos, leaveFunc))
	}
}

func instrumentList(list *parse.ListNode) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 {
				n.Pipe.Cmds = append(n.Pipe.Cmds, command(n.Pos, outFunc))
			}
		case *parse.IfNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.WithNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.RangeNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
			n.List.Nodes = append([]parse.Node{call(n.Pos, stepFunc)}, n.List.Nodes...)
		}
	}
}

// call is the action {{name}}.
func call(pos parse.Pos, name string) *parse.ActionNode {
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{command(pos, name)},
	}}
}

// command is a pipeline command that calls the function name.
func command(pos parse.Pos, name string) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos,
		Args: []parse.Node{parse.NewIdentifier(name).SetPos(pos)}}
}
