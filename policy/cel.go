package policy

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// CELValidation is one CEL rule: expression must be true for the input to pass; message is
// the violation's text.
type CELValidation struct {
	Rule       string
	Expression string
	Message    string
}

// celCostLimit bounds the work of one expression so that a policy cannot stall admission.
const celCostLimit = 1_000_000

// CELEngine evaluates CEL validations over the variable `input`.
type CELEngine struct {
	programs []celProgram
}

type celProgram struct {
	v   CELValidation
	prg cel.Program
}

// NewCELEngine compiles validations once.
func NewCELEngine(validations []CELValidation) (*CELEngine, error) {
	env, err := cel.NewEnv(cel.Variable("input", cel.DynType), ext.Strings(), ext.Lists(), ext.Sets())
	if err != nil {
		return nil, err
	}
	e := &CELEngine{}
	for _, v := range validations {
		ast, iss := env.Compile(v.Expression)
		if iss.Err() != nil {
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: %v", v.Rule, iss.Err())}
		}
		if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: the expression must be a bool, it is %s", v.Rule, ast.OutputType())}
		}
		prg, err := env.Program(ast, cel.CostLimit(celCostLimit))
		if err != nil {
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: %v", v.Rule, err)}
		}
		e.programs = append(e.programs, celProgram{v: v, prg: prg})
	}
	return e, nil
}

// Evaluate implements Engine. An expression that fails at run time (a missing field) is a
// violation too: a policy that cannot decide does not pass silently.
func (e *CELEngine) Evaluate(ctx context.Context, in Input) ([]Finding, error) {
	var out []Finding
	for _, p := range e.programs {
		val, _, err := p.prg.ContextEval(ctx, map[string]any{"input": map[string]any(in)})
		if err != nil {
			out = append(out, Finding{Rule: p.v.Rule, Message: fmt.Sprintf("%s (the expression could not be evaluated: %v)", p.v.Message, err)})
			continue
		}
		if ok, isBool := val.Value().(bool); !isBool || !ok {
			out = append(out, Finding{Rule: p.v.Rule, Message: p.v.Message})
		}
	}
	return out, nil
}
