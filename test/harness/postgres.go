package harness

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server from Debian's postgresql package on a loopback port, for
// Vault's database secrets engine. The superuser is "postgres" with Password.
type Postgres struct {
	Port     int
	Password string
	dir      string
	cmd      *exec.Cmd
}

// postgresBin returns the folder with initdb and postgres (Debian installs them under
// /usr/lib/postgresql/<major>/bin, off PATH).
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("PostgreSQL not found under /usr/lib/postgresql/*/bin: " +
		"run `make test-assets` (it installs Debian's postgresql package)")
}

// StartPostgres initialises a cluster in a temporary folder and starts it. PostgreSQL
// refuses to run as root, so under root it runs as the postgres user the package creates.
func StartPostgres() (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-postgres-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Port: port, Password: "vigil-test-superuser", dir: dir}
	cred, err := postgresCredential(dir)
	if err != nil {
		return nil, err
	}
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		c.Dir = dir
		return c
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password), 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := run("initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth", "scram-sha-256", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	p.cmd = run("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	err = p.cmd.Start()
	logf.Close()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	err = WaitFor(context.Background(), 60*time.Second, func(ctx context.Context) (bool, error) {
		conn, err := pgx.Connect(ctx, p.URL("postgres", p.Password))
		if err != nil {
			return false, err
		}
		return true, conn.Close(ctx)
	})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		p.Close()
		return nil, fmt.Errorf("postgres did not accept connections: %w\n%s", err, log)
	}
	return p, nil
}

// postgresCredential is whom PostgreSQL runs as: nil (this user) unless this is root, which
// PostgreSQL refuses; then the postgres user the package creates, which gets dir.
func postgresCredential(dir string) (*syscall.Credential, error) {
	if os.Getuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running PostgreSQL as root is refused and there is no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// URL is a connection URL for a user.
func (p *Postgres) URL(user, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: "127.0.0.1:" + strconv.Itoa(p.Port),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	return u.String()
}

// Close stops the server and removes its files.
func (p *Postgres) Close() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	}
	os.RemoveAll(p.dir)
}
