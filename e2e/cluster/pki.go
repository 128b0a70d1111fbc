package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// PKI holds the paths of the throw-away certificates and keys of a cluster.
// Every key is ECDSA P-256; files are PEM encoded.
type PKI struct {
	Dir string

	CACert, CAKey                                             string
	APIServerCert, APIServerKey                               string
	AdminCert, AdminKey                                       string
	ControllerManagerCert, ControllerManagerKey               string
	SchedulerCert, SchedulerKey                               string
	ControllerManagerServingCert, ControllerManagerServingKey string
	SchedulerServingCert, SchedulerServingKey                 string
	FrontProxyCACert, FrontProxyCAKey                         string
	FrontProxyClientCert, FrontProxyClientKey                 string
	ServiceAccountKey, ServiceAccountPublicKey                string

	validFrom, validUntil time.Time
}

// GeneratePKI writes a complete, self-signed PKI for one cluster into dir:
// a cluster CA, the kube-apiserver serving certificate (SANs 127.0.0.1,
// localhost, the first service IP and the kubernetes.default names), client
// certificates for the admin (O=system:masters), kube-controller-manager and
// kube-scheduler, serving certificates for the controller-manager and
// scheduler, a front-proxy CA with its client certificate and the
// service-account signing key pair.
func GeneratePKI(dir string, serviceIP net.IP) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	now := time.Now()
	p := &PKI{
		Dir:        dir,
		validFrom:  now.Add(-time.Hour),
		validUntil: now.Add(365 * 24 * time.Hour),
	}
	localIPs := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	localDNSNames := []string{"localhost"}
	apiServerIPs := append([]net.IP{serviceIP}, localIPs...)
	apiServerDNSNames := []string{
		"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	}

	path := func(name string) string { return filepath.Join(dir, name) }

	p.CACert, p.CAKey = path("ca.crt"), path("ca.key")
	caCert, caKey, err := p.newCA("typekro-e2e-ca", p.CACert, p.CAKey)
	if err != nil {
		return nil, err
	}
	p.FrontProxyCACert, p.FrontProxyCAKey = path("front-proxy-ca.crt"), path("front-proxy-ca.key")
	fpCACert, fpCAKey, err := p.newCA("typekro-e2e-front-proxy-ca", p.FrontProxyCACert, p.FrontProxyCAKey)
	if err != nil {
		return nil, err
	}

	type leaf struct {
		cert, key *string
		name      string
		subject   pkix.Name
		server    bool
		ips       []net.IP
		dns       []string
		caCert    *x509.Certificate
		caKey     crypto.Signer
	}
	leaves := []leaf{
		{cert: &p.APIServerCert, key: &p.APIServerKey, name: "apiserver", subject: pkix.Name{CommonName: "kube-apiserver"},
			server: true, ips: apiServerIPs, dns: apiServerDNSNames},
		{cert: &p.AdminCert, key: &p.AdminKey, name: "admin",
			subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}}},
		{cert: &p.ControllerManagerCert, key: &p.ControllerManagerKey, name: "controller-manager",
			subject: pkix.Name{CommonName: "system:kube-controller-manager"}},
		{cert: &p.SchedulerCert, key: &p.SchedulerKey, name: "scheduler",
			subject: pkix.Name{CommonName: "system:kube-scheduler"}},
		{cert: &p.ControllerManagerServingCert, key: &p.ControllerManagerServingKey, name: "controller-manager-serving",
			subject: pkix.Name{CommonName: "kube-controller-manager"}, server: true, ips: localIPs, dns: localDNSNames},
		{cert: &p.SchedulerServingCert, key: &p.SchedulerServingKey, name: "scheduler-serving",
			subject: pkix.Name{CommonName: "kube-scheduler"}, server: true, ips: localIPs, dns: localDNSNames},
		{cert: &p.FrontProxyClientCert, key: &p.FrontProxyClientKey, name: "front-proxy-client",
			subject: pkix.Name{CommonName: "front-proxy-client"}, caCert: fpCACert, caKey: fpCAKey},
	}
	for _, l := range leaves {
		*l.cert, *l.key = path(l.name+".crt"), path(l.name+".key")
		signCert, signKey := l.caCert, l.caKey
		if signCert == nil {
			signCert, signKey = caCert, caKey
		}
		tmpl := p.template(l.subject)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		if l.server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = l.ips
			tmpl.DNSNames = l.dns
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		if _, _, err := p.issue(tmpl, signCert, signKey, *l.cert, *l.key); err != nil {
			return nil, fmt.Errorf("%s certificate: %w", l.name, err)
		}
	}

	p.ServiceAccountKey, p.ServiceAccountPublicKey = path("sa.key"), path("sa.pub")
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeKey(p.ServiceAccountKey, saKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	if err := writePEM(p.ServiceAccountPublicKey, "PUBLIC KEY", pub, 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) template(subject pkix.Name) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             p.validFrom,
		NotAfter:              p.validUntil,
		BasicConstraintsValid: true,
	}
}

func (p *PKI) newCA(cn, certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	tmpl := p.template(pkix.Name{CommonName: cn})
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	return p.issue(tmpl, nil, nil, certPath, keyPath)
}

// issue creates a key pair and a certificate for tmpl signed by caCert/caKey
// (self-signed when caCert is nil) and writes both files.
func (p *PKI) issue(tmpl, caCert *x509.Certificate, caKey crypto.Signer, certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	parent, signer := caCert, caKey
	if parent == nil {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), mode)
}

func writeKubeconfig(path, server, caFile, user, certFile, keyFile string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	const name = "typekro-e2e"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, path)
}
