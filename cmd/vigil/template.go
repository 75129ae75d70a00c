package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-dev/vigil/controllers/externalsecret"
	"github.com/vigil-dev/vigil/controllers/manager"
)

// templateOptions are the flags of `vigil template`.
type templateOptions struct {
	files      []string
	values     string
	name       string
	output     string
	showValues bool
	timeout    time.Duration
}

var templateFormats = []string{formatYAML, formatJSON}

func newTemplateCommand() *cobra.Command {
	o := &templateOptions{timeout: manager.Defaults().TemplateTimeout}
	cmd := &cobra.Command{
		Use:   "template -f EXTERNALSECRET.yaml [--values DATA.json] [flags]",
		Short: "Render an ExternalSecret's template offline, as the controller would",
		Long: `Render the Secret an ExternalSecret (external-secrets.io/v1 or v1beta1) would sync to, offline:
the controller's own template and write code runs, with the same functions and limits
(--template-timeout as the controller's flag), on the data of --values: a JSON or YAML map
of the keys and values the template sees (what spec.data and spec.dataFrom fetch; a value
that is not a string is passed as its JSON). The files of -f may also hold the ConfigMaps
and Secrets that templateFrom reads, and, for creationPolicy Merge, the target Secret.

The Secret is printed with its keys only; --show-values prints the values too (base64, as
in a Secret). Label and annotation values that may come from the data are hidden likewise.
Exits 1 when the template fails (the message names the field, the line or the limit, never
a value), 2 on bad flags or unreadable input.`,
		Example: `  vigil template -f externalsecret.yaml --values data.json
  vigil template -f externalsecret.yaml -f configmap.yaml --values data.yaml -o json
  vigil template -f externalsecret.yaml --values data.json --show-values | kubectl apply --dry-run=server -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil,
		"a YAML `FILE` with the ExternalSecret (and the ConfigMaps and Secrets it reads); - for stdin (repeatable)")
	f.StringVar(&o.values, "values", "",
		"a JSON or YAML `FILE`: a map of the fetched keys and values the template sees; - for stdin")
	f.StringVar(&o.name, "name", "", "the ExternalSecret (its `NAME`) to render when the files hold several")
	f.StringVarP(&o.output, "output", "o", formatYAML, "output `FORMAT`: yaml or json")
	f.BoolVar(&o.showValues, "show-values", false,
		"print the Secret's values (and the label and annotation values that may come from the data)")
	f.DurationVar(&o.timeout, "template-timeout", o.timeout,
		"deadline for all the templates of the ExternalSecret, as the controller's flag")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("values", "json", "yaml", "yml")
	completeWords(cmd, "output", templateFormats)
	return cmd
}

// run reads the input, renders with the controller's code and prints the Secret.
func (o *templateOptions) run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	es, objects, err := o.readObjects(stdin)
	if err != nil {
		return unusable(err)
	}
	data, err := readValues(o.values, stdin)
	if err != nil {
		return unusable(err)
	}
	secret, err := externalsecret.RenderOffline(ctx, externalsecret.NewTemplateEngine(o.timeout), es, data, objects...)
	if err != nil {
		return failed(fmt.Errorf("ExternalSecret %s/%s: %w", es.Namespace, es.Name, err))
	}
	if secret == nil {
		fmt.Fprintf(stdout, "# ExternalSecret %s/%s has creationPolicy None: it writes no Secret\n", es.Namespace, es.Name)
		return nil
	}
	return unusableIf(o.print(stdout, es, secret))
}

// check refuses flag values template cannot use (a usage error).
func (o *templateOptions) check() error {
	if !slices.Contains(templateFormats, o.output) {
		return fmt.Errorf("-o %q is not yaml or json", o.output)
	}
	if o.timeout <= 0 || o.timeout > time.Minute {
		return fmt.Errorf("--template-timeout must be above 0 and at most 1m, got %s", o.timeout)
	}
	if slices.Contains(o.files, "-") && o.values == "-" {
		return fmt.Errorf("-f - and --values - cannot both read stdin")
	}
	return nil
}

func unusableIf(err error) error {
	if err != nil {
		return unusable(err)
	}
	return nil
}
