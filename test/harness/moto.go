package harness

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Moto is a moto server on a loopback port: AWS Secrets Manager, SSM, STS and IAM for the
// tests. It records every request it serves (moto's recorder) so that tests can check which
// calls Vigil made.
type Moto struct {
	URL     string
	port    int
	dir     string
	cmd     *exec.Cmd
	log     *os.File
	running bool
}

// motoBinary returns the moto_server of the project's virtualenv.
func motoBinary() (string, error) {
	bin := os.Getenv("VIGIL_MOTO")
	if bin == "" {
		bin = filepath.Join(RepoRoot(), ".venv", "bin", "moto_server")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("moto_server not found at %s: "+
			"run `make test-assets` (it installs moto[server] into .venv)", bin)
	}
	return bin, nil
}

// StartMoto starts a moto server on a free loopback port and points the AWS SDK's standard
// settings (AWS_ENDPOINT_URL, static test credentials) of this process at it.
func StartMoto() (*Moto, error) {
	m, err := NewStoppedMoto()
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	// The SDK's standard settings, as a user would set them: nothing in Vigil knows moto.
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":          m.URL,
		"AWS_ACCESS_KEY_ID":         "testing",
		"AWS_SECRET_ACCESS_KEY":     "testing",
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v)
	}
	return m, nil
}

// NewStoppedMoto reserves a port for a moto server without starting it: until Start, the
// port is an endpoint nobody answers on. It does not touch the AWS settings of the process.
func NewStoppedMoto() (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-moto-")
	if err != nil {
		return nil, err
	}
	return &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port), port: port, dir: dir}, nil
}

// Start (re)starts the server on its port; it does nothing when the server runs. A
// restarted moto starts empty.
func (m *Moto) Start() error {
	if m.running {
		return nil
	}
	bin, err := motoBinary()
	if err != nil {
		return err
	}
	m.log, err = os.OpenFile(filepath.Join(m.dir, "moto.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(m.port))
	m.cmd.Env = append(os.Environ(), "MOTO_ENABLE_RECORDING=True", "MOTO_RECORDER_FILEPATH="+m.recordingPath())
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("starting moto_server: %w", err)
	}
	m.running = true
	return WaitFor(context.Background(), 60*time.Second, func(context.Context) (bool, error) {
		resp, err := http.Get(m.URL + "/moto-api/data.json")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// Stop stops the server; Start brings it back on the same port.
func (m *Moto) Stop() {
	if !m.running {
		return
	}
	m.running = false
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
	}
	if m.log != nil {
		m.log.Close()
	}
}

// Close stops the server and removes its files.
func (m *Moto) Close() {
	m.Stop()
	os.RemoveAll(m.dir)
}

// Reset empties every backend of the server and its recording.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return os.WriteFile(m.recordingPath(), nil, 0o600)
}

func (m *Moto) recordingPath() string { return filepath.Join(m.dir, "recording.jsonl") }

// Request is one request moto served.
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Encoded bool              `json:"body_encoded"`
}

// Target is the AWS JSON protocol operation (X-Amz-Target), e.g.
// "secretsmanager.GetSecretValue"; empty for query-protocol services such as STS.
func (r Request) Target() string { return r.Headers["X-Amz-Target"] }

// Text returns the body as sent, decoded when moto recorded it base64-encoded.
func (r Request) Text() string {
	if !r.Encoded {
		return r.Body
	}
	b, _ := base64.StdEncoding.DecodeString(r.Body)
	return string(b)
}

// Requests returns the requests moto has served since the last Reset.
func (m *Moto) Requests() ([]Request, error) {
	f, err := os.Open(m.recordingPath())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r Request
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// AWSConfig returns an SDK configuration for seeding moto from tests.
func (m *Moto) AWSConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(m.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
	)
}

// FreeAddr returns a free loopback address (host:port).
func FreeAddr() (string, error) {
	port, err := freePort()
	return "127.0.0.1:" + strconv.Itoa(port), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
