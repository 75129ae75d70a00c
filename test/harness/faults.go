package harness

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// FaultProxy sits between the AWS SDK and moto: a toxiproxy TCP proxy (latency, resets,
// timeouts — Shopify's fault-injection library) in front of an HTTP layer that counts every
// request that reaches it and, when told, answers each with AWS's ThrottlingException.
type FaultProxy struct {
	URL string // point the SDK here

	toxi     *toxiproxy.Proxy
	front    *httptest.Server
	throttle atomic.Bool
	requests atomic.Int64
}

// StartFaultProxy proxies to upstream (moto's URL).
func StartFaultProxy(upstream string) (*FaultProxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	f := &FaultProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	f.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if f.throttle.Load() {
			// What Secrets Manager answers over its request quota (AWS JSON protocol).
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	f.toxi = toxiproxy.NewProxy(server, "aws", "127.0.0.1:0", strings.TrimPrefix(f.front.URL, "http://"))
	if err := f.toxi.Start(); err != nil {
		f.front.Close()
		return nil, fmt.Errorf("starting toxiproxy: %w", err)
	}
	f.URL = "http://" + f.toxi.Listen
	return f, nil
}

// AddToxic adds a toxiproxy toxic, e.g. AddToxic("slow", "latency", "downstream",
// map[string]any{"latency": 3000}).
func (f *FaultProxy) AddToxic(name, typ, stream string, attrs map[string]any) error {
	var b strings.Builder
	fmt.Fprintf(&b, `{"name":%q,"type":%q,"stream":%q,"attributes":{`, name, typ, stream)
	first := true
	for k, v := range attrs {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:%v", k, v)
	}
	b.WriteString("}}")
	_, err := f.toxi.Toxics.AddToxicJson(strings.NewReader(b.String()))
	return err
}

// RemoveToxic removes a toxic added with AddToxic.
func (f *FaultProxy) RemoveToxic(name string) error {
	return f.toxi.Toxics.RemoveToxic(context.Background(), name)
}

// Throttle makes every request fail with ThrottlingException until called with false.
func (f *FaultProxy) Throttle(on bool) { f.throttle.Store(on) }

// Requests is the number of HTTP requests that reached the proxy so far.
func (f *FaultProxy) Requests() int64 { return f.requests.Load() }

// Close stops both layers.
func (f *FaultProxy) Close() {
	f.toxi.Stop()
	f.front.Close()
}
