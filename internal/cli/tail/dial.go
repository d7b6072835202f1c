package tail

import (
	"context"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// newSSHDialer builds the SSH layer from the flags; a bad config or key file is a usage error.
func newSSHDialer(opts *Options) (tailer.Dialer, error) {
	sopts, err := opts.SSH.SSHConfig(opts.Factory)
	if err != nil {
		return nil, err
	}
	d, err := sshx.NewDialer(sopts)
	if err != nil {
		return nil, cmdutil.UsageWithHint(err, cmdutil.HintOf(err))
	}
	dial := cmdutil.DialSSH(d) // a target's Address may carry a NAT port (--use-nat)
	return tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		c, err := dial(ctx, addr)
		if err != nil {
			return nil, err
		}
		return tailer.SSHClient(c.Client, c), nil
	}), nil
}

// retryable tells whether a failed reconnect is worth trying again: a refused key or a
// changed host key will not fix itself.
func retryable(err error) bool {
	return !sshx.Permanent(err)
}
