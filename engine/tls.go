package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"time"
	"unsafe"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

// TLS.
//
// The server always offers TLS, as MySQL 8 does: with the certificate
// and key of Config.TLSCert and Config.TLSKey, or else with a
// self-signed pair that the first start writes into the data directory
// (server-cert.pem, server-key.pem; the key readable by its owner only)
// and later starts reuse. A client chooses whether to use it; with
// @@require_secure_transport ON a login without it fails with 3159
// (connections.go).
//
// Prepared DETECTOR statements under TLS. vitess switches a connection to
// TLS inside its handshake: it wraps the socket in a tls.Conn and resets
// its buffered packet reader onto it. The rewrite of COM_STMT_PREPARE
// that lets DETECTOR statements be prepared (prepareConn, handler.go)
// works on the bytes the reader reads; on the socket they are now
// encrypted. Once the login has succeeded (connAuth), and before the
// first command, spliceTLSReader therefore resets vitess's reader onto a
// prepareConn over the tls.Conn: the rewrite sees the decrypted packets.
// The reader is an unexported field of mysql.Conn, reached by reflection;
// checkTLSSplice verifies at start that it is there, so that a vitess
// upgrade that renames it stops the server with an error rather than
// silently breaking prepared DETECTOR statements over TLS.

// Names of the self-signed pair in the data directory (MySQL 8's names).
const (
	autoCertFile = "server-cert.pem"
	autoKeyFile  = "server-key.pem"
)

// serverTLS returns the server's TLS configuration and the certificate and
// key files it was loaded from: certFile and keyFile if given (both or
// neither), else the self-signed pair in dataDir, created if missing.
func serverTLS(dataDir, certFile, keyFile string) (cfg *tls.Config, cert, key string, err error) {
	if err := checkTLSSplice(); err != nil {
		return nil, "", "", err
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, key = certFile, keyFile
	case certFile != "" || keyFile != "":
		return nil, "", "", errors.New("--tls-cert and --tls-key go together: give both or neither")
	default:
		cert, key = filepath.Join(dataDir, autoCertFile), filepath.Join(dataDir, autoKeyFile)
		if err := ensureSelfSigned(cert, key); err != nil {
			return nil, "", "", err
		}
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, "", "", fmt.Errorf("TLS: loading %s and %s: %w", cert, key, err)
	}
	if leaf := pair.Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
		logrus.Warnf("TLS: the certificate %s expired on %s: clients that verify it will refuse it", cert, leaf.NotAfter.Format(time.DateOnly))
	}
	if abs, err := filepath.Abs(cert); err == nil {
		cert = abs
	}
	if abs, err := filepath.Abs(key); err == nil {
		key = abs
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, cert, key, nil
}

// ensureSelfSigned writes a new self-signed certificate and its key to
// certFile and keyFile unless both exist. One without the other is an
// error: the server never overwrites a certificate or a key.
func ensureSelfSigned(certFile, keyFile string) error {
	_, certErr := os.Stat(certFile)
	_, keyErr := os.Stat(keyFile)
	switch {
	case certErr == nil && keyErr == nil:
		return nil
	case certErr == nil || keyErr == nil:
		have, lack := certFile, keyFile
		if certErr != nil {
			have, lack = keyFile, certFile
		}
		return fmt.Errorf("TLS: %s exists but %s does not: restore it, remove both to have new ones made, or give --tls-cert and --tls-key", have, lack)
	case !errors.Is(certErr, fs.ErrNotExist):
		return fmt.Errorf("TLS: %w", certErr)
	case !errors.Is(keyErr, fs.ErrNotExist):
		return fmt.Errorf("TLS: %w", keyErr)
	}
	certPEM, keyPEM, err := selfSigned(time.Now())
	if err != nil {
		return fmt.Errorf("TLS: generating a certificate: %w", err)
	}
	// The key first: a crash in between leaves a key without its
	// certificate, which the next start reports instead of using.
	if err := writeNew(keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	if err := writeNew(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	logrus.Infof("TLS: created the self-signed certificate %s and its key %s", certFile, keyFile)
	return nil
}

// selfSigned returns a new ECDSA P-256 key and a certificate for it,
// signed by itself, valid for ten years from now, for the names a client
// on this host uses (localhost, 127.0.0.1, ::1 and the host name). It is
// its own CA, so that a client verifies it with --ssl-ca=server-cert.pem.
func selfSigned(now time.Time) (certPEM, keyPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "anomalydb_Auto_Generated_Server_Certificate"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeNew writes data to the file path with permissions perm: to a
// temporary file first, synced, then renamed to path, so that path is
// either absent or complete. The caller has checked that path does not
// exist; the data directory's lock keeps other servers out.
func writeNew(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// tlsVariables are the TLS system variables as this server has them:
// the certificate and key files (read-only: there is no ALTER INSTANCE
// RELOAD TLS), TLS available, and the protocol versions offered.
func tlsVariables(cert, key string) []sql.SystemVariable {
	return []sql.SystemVariable{
		constantVariable("ssl_cert", cert),
		constantVariable("ssl_key", key),
		constantVariable("have_ssl", "YES"),
		constantVariable("have_openssl", "YES"),
		constantVariable("tls_version", "TLSv1.2,TLSv1.3"),
	}
}

// tlsSessions wraps a session builder: a session over TLS has its
// cipher and protocol in the status variables Ssl_cipher and Ssl_version
// (SHOW STATUS LIKE 'Ssl_cipher'), empty otherwise, as in MySQL.
func tlsSessions(build server.SessionBuilder) server.SessionBuilder {
	return func(ctx context.Context, c *mysql.Conn, addr string) (sql.Session, error) {
		s, err := build(ctx, c, addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := c.Conn.(*tls.Conn); ok {
			st := tc.ConnectionState()
			_ = s.SetStatusVariable(nil, "Ssl_cipher", tls.CipherSuiteName(st.CipherSuite))
			_ = s.SetStatusVariable(nil, "Ssl_version", tlsVersionName(st.Version))
		}
		return s, nil
	}
}

// tlsVersionName is a TLS version as MySQL names it ("TLSv1.3").
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// readerField is the index of mysql.Conn's buffered packet reader (see
// the TLS comment above); nil if this vitess has none.
var readerField = func() []int {
	f, ok := reflect.TypeOf(mysql.Conn{}).FieldByName("bufferedReader")
	if !ok || f.Type != reflect.TypeOf((*bufio.Reader)(nil)) {
		return nil
	}
	return f.Index
}()

// checkTLSSplice reports whether spliceTLSReader can work with this
// build's vitess.
func checkTLSSplice() error {
	if readerField == nil {
		return errors.New("TLS: vitess's mysql.Conn has no field bufferedReader of type *bufio.Reader, through which prepared DETECTOR statements are rewritten under TLS (engine/tls.go): this build cannot serve TLS")
	}
	return nil
}

// spliceTLSReader makes c's packets, if c is a TLS connection, pass
// through a prepareConn after decryption (see the TLS comment above).
// It must run in c's goroutine between the login and the first command,
// while the client waits for the server's answer: bytes the reader holds
// (none, unless the client sent ahead) are handed to the prepareConn.
func spliceTLSReader(c *mysql.Conn) error {
	tc, ok := c.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	if err := checkTLSSplice(); err != nil {
		return err
	}
	f := reflect.ValueOf(c).Elem().FieldByIndex(readerField)
	br := *(**bufio.Reader)(unsafe.Pointer(f.UnsafeAddr()))
	if br == nil {
		return errors.New("TLS: the connection has no buffered reader to splice")
	}
	held, _ := br.Peek(br.Buffered())
	// Packets over max_allowed_packet are refused above TLS too. The
	// bytes vitess already holds begin at a packet boundary (the login
	// packet was read whole): the limiter checks them first.
	in := &packetLimitConn{Conn: tc, limit: globalMaxAllowedPacket(), buf: bytes.Clone(held)}
	pc := &prepareConn{Conn: in}
	br.Reset(pc)
	return nil
}
