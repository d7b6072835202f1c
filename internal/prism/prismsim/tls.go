package prismsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"
)

// TB is the part of testing.TB that StartTLS uses; nil outside tests.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Server is a running HTTPS simulator.
type Server struct {
	URL     string // https://127.0.0.1:PORT
	Addr    string // 127.0.0.1:PORT, what --prism takes
	CAPEM   []byte // the CA that signed the server certificate: what --ca-cert takes
	CertPEM []byte // the server certificate itself

	srv *http.Server
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// WriteCA writes the CA certificate to path (0644), for --ca-cert.
func (s *Server) WriteCA(path string) error { return os.WriteFile(path, s.CAPEM, 0o644) }

// DefaultHosts are the names the server certificate is valid for unless told otherwise.
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// StartTLS serves h over HTTPS on addr (e.g. "127.0.0.1:0") with a certificate for
// DefaultHosts, signed by a fresh CA. With t, failures end the test and the server stops
// at cleanup; without t (a lab binary), the caller closes it.
func StartTLS(t TB, h http.Handler, addr string) (*Server, error) {
	return StartTLSFor(t, h, addr, DefaultHosts)
}

// StartTLSFor is StartTLS with a certificate for hosts (IPs or DNS names), e.g. to test a
// certificate issued for another name.
func StartTLSFor(t TB, h http.Handler, addr string, hosts []string) (*Server, error) {
	if t != nil {
		t.Helper()
	}
	s, err := startTLS(h, addr, hosts)
	if err != nil {
		if t != nil {
			t.Fatalf("prismsim: %v", err)
		}
		return nil, err
	}
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s, nil
}

func startTLS(h http.Handler, addr string, hosts []string) (*Server, error) {
	caPEM, certPEM, keyPEM, err := newCertificates(hosts)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// Clients that refuse the certificate make the server log handshake errors: noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener is gone; requests will fail and say so
		}
	}()
	a := ln.Addr().String()
	return &Server{URL: "https://" + a, Addr: a, CAPEM: caPEM, CertPEM: certPEM, srv: srv}, nil
}

// newCertificates makes a CA and a server certificate for hosts, signed by it.
func newCertificates(hosts []string) (caPEM, certPEM, keyPEM []byte, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "prismsim test CA", Organization: []string{"cvmtail prismsim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "prismsim"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return caPEM, certPEM, keyPEM, nil
}
