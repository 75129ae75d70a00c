package safetpl

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func render(t *testing.T, e *Engine, text string, data any) (string, error) {
	t.Helper()
	return e.Render(e.Budget(context.Background()), text, data)
}

func TestRender_OrdinaryTemplates(t *testing.T) {
	e := New(Defaults(), nil)
	data := map[string]any{"user": "app", "pass": "p@ss", "list": []any{"a", "b"}}
	for text, want := range map[string]string{
		`{{ .user }}:{{ .pass | b64enc }}`:                                                      "app:cEBzcw==",
		`{{ range $i, $v := .list }}{{ $i }}={{ $v }};{{ end }}`:                                "0=a;1=b;",
		`{{ range 3 }}x{{ end }}`:                                                               "xxx",
		`{{ define "n" }}[{{ . }}]{{ end }}{{ template "n" .user }}`:                            "[app]",
		`{{ repeat 3 "ab" }}{{ until 3 }}{{ seq 3 }}`:                                           "ababab[0 1 2]1 2 3",
		`{{ "a\nb" | nindent 2 }}`:                                                              "\n  a\n  b",
		`{{ printf "%5s|%-3d|%q" "x" 7 "y" }}`:                                                  `    x|7  |"y"`,
		`{{ replace "a" "bb" "aXa" }}{{ join "," (list 1 2) }}`:                                 "bbXbb1,2",
		`{{ $d := dict "k" "v" }}{{ $_ := set $d "j" "w" }}{{ $d.j }}{{ print 1 2 }}`:           "w1 2",
		`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}{{ nil }}`:                           "",
		`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}`:                                    "-W-xxW-",
		`{{ regexReplaceAllLiteral "a(x*)b" "-ab-" "${1}" }}`:                                   "-${1}-",
		`{{ splitList "," "a,b" }}{{ (split "," "a,b")._1 }}{{ regexFindAll "a." "a1a2a3" 2 }}`: "[a b]b[a1 a2]",
		`{{ "<x>" | html }}{{ urlquery "a b" }}`:                                                "&lt;x&gt;a+b",
		`{{ uniq (list 1 1 2) }}{{ .missing | default "d" }}`:                                   "[1 2]d",
	} {
		got, err := render(t, e, text, data)
		if text == `{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}{{ nil }}` {
			// nil is not a command: the parser refuses it, as text/template does.
			if err == nil {
				t.Errorf("%s: no error", text)
			}
			continue
		}
		if text == `{{ uniq (list 1 1 2) }}{{ .missing | default "d" }}` {
			// missingkey=error: a missing key is an error even with default.
			if err == nil || !strings.Contains(err.Error(), "the data has no key \"missing\"") {
				t.Errorf("%s: error %v", text, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", text, got, err, want)
		}
	}
}

// Each hostile template fails with a message that names the limit it broke, within a
// fraction of the deadline.
func TestRender_HostileTemplatesHitALimit(t *testing.T) {
	e := New(Defaults(), nil)
	for text, limit := range map[string]string{
		`{{ range 100000000000000 }}{{ end }}`:                                                  "range iterations",
		`{{ range 100000000000000 }}{{ continue }}{{ end }}`:                                    "range iterations",
		`{{ range $i := until 1000000000 }}{{ end }}`:                                           "function until",
		`{{ range untilStep 0 1000000000000 1 }}{{ end }}`:                                      "function untilStep",
		`{{ seq 1 1000000000000 }}`:                                                             "function seq",
		`{{ repeat 1000000000 "x" }}`:                                                           "function repeat",
		`{{ randAlphaNum 1000000000 }}`:                                                         "function randAlphaNum",
		`{{ indent 100000000 "a" }}`:                                                            "function indent",
		`{{ replace "" (repeat 1000 "y") (repeat 100000 "x") }}`:                                "function replace",
		`{{ wrapWith 1 (repeat 1000 "y") (repeat 10000 "x") }}`:                                 "function wrapWith",
		`{{ join (repeat 100000 "s") (until 1000) }}`:                                           "function join",
		`{{ printf "%999999d%999999d" 1 2 }}`:                                                   "function printf",
		`{{ printf "%[1]s%[1]s%[1]s" (repeat 500000 "x") }}`:                                    "function printf",
		`{{ $x := "abcdefgh" }}{{ range 40 }}{{ $x = cat $x $x }}{{ end }}`:                     "value limit",
		`{{ $x := "abcdefgh" }}{{ range 40 }}{{ $x = print $x $x }}{{ end }}`:                   "value limit",
		`{{ $l := list 1 }}{{ range 40 }}{{ $l = concat $l $l }}{{ end }}`:                      "value limit",
		`{{ $l := list 1 }}{{ range 60 }}{{ $l = list $l $l }}{{ end }}{{ $l | toPrettyJson }}`: "value limit",
		`{{ $d := dict }}{{ $_ := set $d "x" $d }}{{ $d }}`:                                     "value limit",
		`{{ range 50000 }}{{ repeat 100 "x" }}{{ end }}`:                                        "output limit",
		`{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}`:                     "nested deeper",
		`{{ define "a" }}{{ template "b" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "c" }}{{ template "c" }}{{ end }}{{ define "c" }}{{ range 1000 }}{{ end }}{{ end }}{{ range 1000 }}{{ template "a" }}{{ end }}`: "range iterations",
		`{{ uniq (until 100000) }}`:                                                 "function uniq",
		`{{ regexReplaceAll "" (repeat 1000 "y") (repeat 500000 "x") }}`:            "function regexReplaceAll",
		`{{ mustRegexReplaceAllLiteral "y?" (repeat 1000 "y") (repeat 5000 "x") }}`: "function mustRegexReplaceAllLiteral",
		`{{ regexReplaceAll "(.*)" (repeat 500000 "y") "$1$1$1" }}`:                 "function regexReplaceAll",
		`{{ split "" (repeat 1000000 "x") }}`:                                       "function split: the result would hold more than 65536 strings",
		`{{ splitList "," (repeat 500000 ",") }}`:                                   "function splitList: the result would hold more than 65536 strings",
		`{{ splitn "" -1 (repeat 1000000 "x") }}`:                                   "function splitn: the result would hold more than 65536 strings",
		`{{ regexFindAll "" (repeat 1000000 "x") -1 }}`:                             "function regexFindAll: the result would hold more than 65536 strings",
		`{{ mustRegexSplit "" (repeat 1000000 "x") -1 }}`:                           "function mustRegexSplit: the result would hold more than 65536 strings",
		`{{ regexSplit (repeat 100 "a") (repeat 1000000 "a") -1 }}`:                 "regexp limit",
		`{{ regexMatch (repeat 5000 "a") "b" }}`:                                    "regexp limit",
		`{{ regexMatch (repeat 100 "a") (repeat 1000000 "a") }}`:                    "regexp limit",
		`{{ _vigilLeave }}`:                       "not defined",
		`{{ env "HOME" }}{{ expandenv "$HOME" }}`: "not defined",
		`{{ getHostByName "example.com" }}`:       "not defined",
	} {
		start := time.Now()
		_, err := render(t, e, text, nil)
		if err == nil || !strings.Contains(err.Error(), limit) {
			t.Errorf("%s: error %v, want one naming %q", text, err, limit)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: took %s", text, took)
		}
	}
}

// A loop of slow calls stops at the deadline, and the abandoned goroutine stops too (it
// checks the deadline before each call).
func TestRender_DeadlineStopsSlowLoops(t *testing.T) {
	l := Defaults()
	l.Timeout = 300 * time.Millisecond
	e := New(l, nil)
	start := time.Now()
	_, err := render(t, e, `{{ range 100000 }}{{ $_ := bcrypt "x" }}{{ end }}`, nil)
	if err == nil || !strings.Contains(err.Error(), "exceeded the 300ms template deadline") {
		t.Fatalf("error %v, want the deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}
	var limit *Error
	if !errors.As(err, &limit) || !limit.Limit {
		t.Errorf("a deadline is not reported as a limit: %#v", err)
	}
}

// The output limit is shared by every template of a pass.
func TestRender_OutputLimitIsPerPass(t *testing.T) {
	e := New(Defaults(), nil)
	b := e.Budget(context.Background())
	for i := 0; i < 3; i++ {
		_, err := e.Render(b, `{{ repeat 400000 "x" }}`, nil)
		if (err != nil) != (i == 2) {
			t.Fatalf("render %d: %v", i, err)
		}
	}
}

// Hostile templates do not grow the heap by more than a few times the 1 MiB output limit
// while they run, however much they ask for.
func TestRender_HeapStaysBounded(t *testing.T) {
	e := New(Defaults(), nil)
	hostile := []string{
		`{{ range 90000 }}{{ repeat 1000 "x" }}{{ end }}`,
		`{{ $x := "abcdefgh" }}{{ range 60 }}{{ $x = cat $x $x }}{{ end }}{{ $x }}`,
		`{{ $l := list "abcdefgh" }}{{ range 60 }}{{ $l = list $l $l }}{{ end }}{{ $l | toJson }}`,
		`{{ $d := dict }}{{ $big := repeat 900000 "x" }}{{ range 1000 }}{{ $_ := set $d (randAlpha 8) $big }}{{ end }}{{ $d }}`,
		`{{ printf "%999999d%999999d%999999d%999999d" 1 2 3 4 }}`,
		`{{ $s := repeat 1000000 "x" }}{{ range 100 }}{{ $s = $s | b64enc }}{{ end }}`,
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	for _, text := range hostile {
		_, err := render(t, e, text, nil)
		var limit *Error
		if !errors.As(err, &limit) || !limit.Limit {
			t.Errorf("%s: error %v, want a limit", text, err)
		}
		t.Logf("%s: %v", text, err)
	}
	close(stop)
	<-sampled
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use grew by at most %d KiB", grew>>10)
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MiB while hostile templates ran, over the 64 MiB bound", grew>>20)
	}
}

// Parsing costs about a hundred times the bytes of a template's actions: many actions, or
// one action with many arguments, are refused before the parse, naming the limit; long
// literal text between actions is not.
func TestRender_ActionBytesAreBoundedBeforeParsing(t *testing.T) {
	e := New(Defaults(), nil)
	for _, text := range []string{
		strings.Repeat("{{1}}", 20000),
		"{{ list " + strings.Repeat("1 ", 40000) + "}}",
		"{{ " + strings.Repeat("(", 70000),
	} {
		_, err := render(t, e, text, nil)
		var te *Error
		if !errors.As(err, &te) || !te.Limit || !strings.Contains(err.Error(), "over the limit of 65536: keep long literal text outside the actions") {
			t.Errorf("%.30s…: error %v", text, err)
		}
	}
	long := strings.Repeat("literal text ", 60000) + "{{ 1 }}"
	if got, err := render(t, e, long, nil); err != nil || len(got) != len(long)-len("{{ 1 }}")+1 {
		t.Errorf("long literal text: %d bytes, %v", len(got), err)
	}
}

// The slow functions run at most two at a time in the process: many templates calling
// them at once (derivePassword takes 32 MiB of scrypt per call) wait for a slot, within
// their deadline. A stand-in for bcrypt records how many calls overlap.
func TestRender_SlowCallsAreThrottled(t *testing.T) {
	var now, peak atomic.Int64
	slowFn := func(s string) string {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		return s
	}
	e := New(Defaults(), map[string]any{"bcrypt": slowFn})
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := e.Render(e.Budget(context.Background()), `{{ bcrypt "x" }}{{ bcrypt "y" }}`, nil)
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Errorf("render: %v", err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("%d slow calls ran at once, want 2", p)
	}
}
