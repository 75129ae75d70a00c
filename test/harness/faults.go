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

// TCPProxy forwards TCP connections to an upstream (the API server) and can go down and
// come back on the same address: every connection is cut and new ones are refused while
// it is down, as when the upstream restarts.
type TCPProxy struct {
	Addr string
	toxi *toxiproxy.Proxy
}

// StartTCPProxy listens on a free loopback port and forwards to upstream (host:port).
func StartTCPProxy(name, upstream string) (*TCPProxy, error) {
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := &TCPProxy{toxi: toxiproxy.NewProxy(server, name, "127.0.0.1:0", upstream)}
	if err := p.toxi.Start(); err != nil {
		return nil, fmt.Errorf("starting toxiproxy: %w", err)
	}
	p.Addr = p.toxi.Listen
	return p, nil
}

// Down cuts every connection and stops listening.
func (p *TCPProxy) Down() { p.toxi.Stop() }

// Up listens again on the same address.
func (p *TCPProxy) Up() error {
	p.toxi.Listen = p.Addr
	return p.toxi.Start()
}

// Close stops the proxy.
func (p *TCPProxy) Close() { p.toxi.Stop() }
