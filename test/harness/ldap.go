package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LDAP is an OpenLDAP slapd from Debian's slapd package on a loopback port, with a
// temporary configuration and database: the directory dc=vigil,dc=test with the users
// under ou=users, for Vault's ldap auth method.
type LDAP struct {
	URL string
	// UserDN is the parent of the users (Vault's userdn); users log in with uid=<name>.
	UserDN string
	dir    string
	cmd    *exec.Cmd
}

// LDAPUser is a user to create: uid and password.
type LDAPUser struct{ Name, Password string }

const ldapSuffix = "dc=vigil,dc=test"

// StartLDAP writes a slapd.conf (mdb backend, core schemas), loads the directory with the
// users (slapadd), starts slapd in the foreground on a free port and waits until it accepts
// connections.
func StartLDAP(users ...LDAPUser) (*LDAP, error) {
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/slapd"); serr != nil {
			return nil, fmt.Errorf("slapd not found: run `hack/test-assets.sh ldap` (it installs Debian's slapd)")
		}
		slapd = "/usr/sbin/slapd"
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-ldap-")
	if err != nil {
		return nil, err
	}
	l := &LDAP{URL: "ldap://127.0.0.1:" + strconv.Itoa(port), UserDN: "ou=users," + ldapSuffix, dir: dir}
	if err := l.writeConfig(users); err != nil {
		l.Close()
		return nil, err
	}
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	load := exec.Command(slapadd, "-f", l.path("slapd.conf"), "-l", l.path("init.ldif"))
	if out, err := load.CombinedOutput(); err != nil {
		l.Close()
		return nil, fmt.Errorf("slapadd: %w\n%s", err, out)
	}
	logf, err := os.Create(l.path("slapd.log"))
	if err != nil {
		l.Close()
		return nil, err
	}
	defer logf.Close()
	// -d 0: stay in the foreground (the test owns the process), log nothing but errors.
	l.cmd = exec.Command(slapd, "-f", l.path("slapd.conf"), "-h", l.URL+"/", "-d", "0")
	l.cmd.Stdout, l.cmd.Stderr = logf, logf
	if err := l.cmd.Start(); err != nil {
		l.Close()
		return nil, fmt.Errorf("starting slapd: %w", err)
	}
	err = WaitFor(context.Background(), 30*time.Second, func(ctx context.Context) (bool, error) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	})
	if err != nil {
		log, _ := os.ReadFile(l.path("slapd.log"))
		l.Close()
		return nil, fmt.Errorf("slapd did not accept connections: %w\n%s", err, log)
	}
	return l, nil
}

func (l *LDAP) path(name string) string { return filepath.Join(l.dir, name) }

func (l *LDAP) writeConfig(users []LDAPUser) error {
	if err := os.Mkdir(l.path("db"), 0o700); err != nil {
		return err
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %s
database mdb
maxsize 10485760
suffix "%s"
rootdn "cn=admin,%s"
rootpw vigil-test-ldap-admin
directory %s
`, l.path("slapd.pid"), ldapSuffix, ldapSuffix, l.path("db"))
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: vigil\ndc: vigil\n\n", ldapSuffix)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: users\n\n", l.UserDN)
	for _, u := range users {
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %s\n\n",
			u.Name, l.UserDN, u.Name, u.Name, u.Name, u.Password)
	}
	if err := os.WriteFile(l.path("slapd.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	return os.WriteFile(l.path("init.ldif"), []byte(b.String()), 0o600)
}

// Close stops slapd and removes its files.
func (l *LDAP) Close() {
	if l.cmd != nil && l.cmd.Process != nil {
		_ = l.cmd.Process.Kill()
		_ = l.cmd.Wait()
	}
	os.RemoveAll(l.dir)
}
