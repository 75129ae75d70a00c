package policy

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/ext"
)

// CELValidation is one CEL rule: expression must be true for the input to pass; message is
// the violation's text.
type CELValidation struct {
	Rule       string
	Expression string
	Message    string
}

// celCostLimit bounds the work of one expression at run time so that a policy cannot stall
// admission.
const celCostLimit = 1_000_000

// celEstimateLimit bounds an expression's estimated worst case, checked at admission over
// inputs whose lists, maps and strings hold at most celSizeBound items. As with Kubernetes'
// CRD validation rules it is ten times the run-time limit: the estimate refuses expressions
// that iterate over the input three or more levels deep, the run-time limit and the
// evaluation deadline stop the rest.
const celEstimateLimit = 10 * celCostLimit

// celSizeBound is the size the cost estimate assumes for every list, map and string of the
// input.
const celSizeBound = 100

// boundedSizes is the cost estimator for CEL validations: sizes are bounded by celSizeBound,
// calls cost what cel-go says.
type boundedSizes struct{}

func (boundedSizes) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: celSizeBound}
}

func (boundedSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

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
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: the expression must be a bool, it is %s",
				v.Rule, ast.OutputType())}
		}
		est, err := env.EstimateCost(ast, boundedSizes{})
		if err != nil {
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: estimating its cost: %v", v.Rule, err)}
		}
		if est.Max > celEstimateLimit {
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: its estimated cost (%d) is over the limit "+
				"of %d (lists, maps and strings of the input taken as up to %d items): iterate less (fewer nested "+
				"all/exists/map over the input)", v.Rule, est.Max, celEstimateLimit, celSizeBound)}
		}
		// The interrupt check lets EvalTimeout stop a comprehension midway.
		prg, err := env.Program(ast, cel.CostLimit(celCostLimit), cel.InterruptCheckFrequency(100))
		if err != nil {
			return nil, &CompileError{Msg: fmt.Sprintf("CEL validation %s: %v", v.Rule, err)}
		}
		e.programs = append(e.programs, celProgram{v: v, prg: prg})
	}
	return e, nil
}

// Evaluate implements Engine. An expression that fails at run time (a missing field, the
// cost limit) is a violation too: a policy that cannot decide does not pass silently. All
// expressions together run under EvalTimeout.
func (e *CELEngine) Evaluate(ctx context.Context, in Input) ([]Finding, error) {
	return withDeadline(ctx, func(ctx context.Context) ([]Finding, error) { return e.evaluate(ctx, in) })
}

func (e *CELEngine) evaluate(ctx context.Context, in Input) ([]Finding, error) {
	var out []Finding
	for _, p := range e.programs {
		val, _, err := p.prg.ContextEval(ctx, map[string]any{"input": map[string]any(in)})
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err() // the deadline: withDeadline reports it by name
		}
		if err != nil {
			out = append(out,
				Finding{Rule: p.v.Rule, Message: fmt.Sprintf("%s (the expression could not be evaluated: %v)", p.v.Message, err)})
			continue
		}
		if ok, isBool := val.Value().(bool); !isBool || !ok {
			out = append(out, Finding{Rule: p.v.Rule, Message: p.v.Message})
		}
	}
	return out, nil
}
