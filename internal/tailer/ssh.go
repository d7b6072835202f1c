package tailer

import (
	"io"

	"golang.org/x/crypto/ssh"
)

// SSHClient adapts an *ssh.Client to Client. closer, when set, replaces Close (to stop
// keepalives and jump hosts along with the connection).
func SSHClient(c *ssh.Client, closer io.Closer) Client {
	return &sshClient{c: c, closer: closer}
}

type sshClient struct {
	c      *ssh.Client
	closer io.Closer
}

func (s *sshClient) NewSession() (Session, error) {
	sess, err := s.c.NewSession()
	if err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *sshClient) Wait() error { return s.c.Wait() }

func (s *sshClient) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return s.c.Close()
}
