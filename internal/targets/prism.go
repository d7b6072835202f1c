package targets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/config"
	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// prismTimeout bounds each Prism request.
const prismTimeout = 30 * time.Second

// resolvePrism resolves CVMs through Prism (or its cache) and keeps those named by --cvm.
// Clusters whose hosts could not be listed were reported; the others' CVMs are used.
func resolvePrism(ctx context.Context, f *cmdutil.Factory, o *Options, cvms []string) ([]Target, error) {
	list, failed, err := prismCVMs(ctx, f, o, cvms)
	if err != nil {
		return nil, err
	}
	o.unlisted = failed
	return list, nil
}

// List is Resolve for commands that show every CVM they find (list-cvms): when some
// clusters' hosts could not be listed (reported on stderr), the others' CVMs come with a
// *cmdutil.SilentError of cmdutil.ExitPartial.
func List(ctx context.Context, f *cmdutil.Factory, o *Options) ([]Target, error) {
	list, err := Resolve(ctx, f, o)
	if err == nil && o.unlisted > 0 {
		err = &cmdutil.SilentError{Code: cmdutil.ExitPartial}
	}
	return list, err
}

// prismCVMs resolves the CVMs and reports on stderr what was left out; failed is how many
// clusters could not be listed.
func prismCVMs(ctx context.Context, f *cmdutil.Factory, o *Options, want []string) (list []prism.CVM, failed int, err error) {
	addr, key, anywhere, err := prismSelection(o, want)
	if err != nil {
		return nil, 0, err
	}
	// The settings are checked before the cache is used: a cached list must not hide a
	// missing password file or a broken CA bundle until it expires.
	password, err := knownPassword(f, o, key)
	if err != nil {
		return nil, 0, err
	}

	var entry *cacheEntry
	if !o.Refresh {
		entry = loadCache(f, key)
		if entry == nil && anywhere {
			entry = loadCache(f, key.everyCluster())
		}
	}
	fromCache := entry != nil
	if !fromCache {
		if entry, err = askPrism(ctx, f, o, key, password, anywhere); err != nil {
			return nil, 0, err
		}
	}
	list, err = filterCVMs(entry.CVMs, want, addr, anywhere)
	if err != nil && fromCache {
		// A CVM the cached list does not know may have been added since: ask Prism.
		if entry, err = askPrism(ctx, f, o, key, password, anywhere); err != nil {
			return nil, 0, err
		}
		list, err = filterCVMs(entry.CVMs, want, addr, anywhere)
	}
	if err != nil {
		return nil, 0, err
	}
	if n := len(entry.ComputeOnly); n > 0 {
		_, _ = fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: skipped %d compute-only host(s) without a CVM\n", n)
	}
	// Each notice was made by the prism package with every value from Prism escaped.
	for _, n := range entry.Notices {
		_, _ = fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: %s\n", n.Message)
		if n.Hint != "" {
			_, _ = fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: hint: %s\n", n.Hint)
		}
	}
	return list, entry.failed, nil
}

// prismSelection is which Prism, user, clusters and trust the flags choose (the cache key),
// and whether --cvm is to be found in any cluster.
func prismSelection(o *Options, want []string) (addr string, key cacheKey, anywhere bool, err error) {
	addr, err = prism.NormalizeAddress(o.Prism)
	if err != nil {
		return "", key, false, cmdutil.UsageWithHint(fmt.Errorf("invalid --prism: %w", err), "give HOST or HOST:PORT, e.g. --prism 10.1.1.10")
	}
	user := o.Username
	if user == "" {
		user = "admin"
	}
	clusters := clusterSelection(o.Clusters)
	trust, err := tlsTrust(o)
	if err != nil {
		return "", key, false, err
	}
	key = cacheKey{Prism: addr, User: user, Clusters: clusters, TLS: trust}
	// --cvm without --cluster finds its CVMs in whichever cluster holds them: on a PC with
	// several clusters, in the inventory of all of them (see listFromPrism).
	anywhere = len(clusters) == 0 && len(want) > 0
	return addr, key, anywhere, nil
}

// Refresh asks Prism again for the CVMs that Resolve found through it (tail
// --refresh-interval), as the engine knows them: never from the cache and never at a
// prompt (a password typed at the start is used again), and without the notices said at
// the start. useNAT addresses them as UseNAT does, without its warnings. A cluster that could not be listed is an error: its
// CVMs must not look as if they had left.
func Refresh(ctx context.Context, f *cmdutil.Factory, o *Options, useNAT bool) ([]tailer.Target, error) {
	o.FillFromEnv(f.Getenv)
	want := splitList(o.CVMs)
	addr, key, anywhere, err := prismSelection(o, want)
	if err != nil {
		return nil, err
	}
	password := o.typed
	if password == "" {
		if password, err = knownPassword(f, o, key); err != nil {
			return nil, err
		}
	}
	if password == "" {
		return nil, fmt.Errorf("no Prism password to ask %s again with (the CVM list came from the cache, so none was typed); set CVMTAIL_PASSWORD or --password-file", key.Prism)
	}
	entry, err := listFromPrism(ctx, f, o, key, password, anywhere)
	if err != nil {
		return nil, err
	}
	if entry.failed > 0 {
		return nil, fmt.Errorf("prism %s: %d cluster(s) could not be listed", key.Prism, entry.failed)
	}
	// A --cvm that Prism no longer lists has left the cluster (a node removed): the others
	// are refreshed and the refresher stops following it, rather than the whole refresh
	// failing on it. Only when none of them is listed is that an error.
	list, err := filterCVMs(entry.CVMs, want, addr, anywhere)
	if err != nil && len(want) > 1 {
		var still []string
		for _, w := range want {
			if _, werr := filterCVMs(entry.CVMs, []string{w}, addr, anywhere); !isNoSuchCVM(werr) {
				still = append(still, w)
			}
		}
		if len(still) > 0 && len(still) < len(want) {
			list, err = filterCVMs(entry.CVMs, still, addr, anywhere)
		}
	}
	if err != nil {
		return nil, err
	}
	if useNAT {
		list = slices.Clone(list) // the entry's own CVMs stay as Prism gave them
		for i := range list {
			list[i], _ = natTarget(list[i])
		}
	}
	return Engine(list), nil
}

// tlsTrust says how Prism's certificate is checked, for the cache key, and checks that a
// --ca-cert bundle is readable and holds a certificate.
func tlsTrust(o *Options) (string, error) {
	switch {
	case o.Insecure:
		return "insecure", nil
	case o.CACert == "":
		return "system", nil
	}
	pem, err := prism.ReadCABundle(o.CACert)
	if err != nil {
		return "", cmdutil.UsageWithHint(fmt.Errorf("--ca-cert: %w", err), "give a readable PEM file with the CA of Prism's certificate")
	}
	sum := sha256.Sum256(pem)
	return "ca:" + hex.EncodeToString(sum[:]), nil
}

// askPrism logs in to Prism and lists the CVMs of the selection, and caches them. An empty
// password is asked for on the terminal. anywhere: see listFromPrism.
func askPrism(ctx context.Context, f *cmdutil.Factory, o *Options, key cacheKey, password string, anywhere bool) (*cacheEntry, error) {
	if o.Insecure {
		_, _ = fmt.Fprintln(f.IOStreams.ErrOut, "cvmtail: warning: not verifying Prism's TLS certificate")
	}
	if password != "" {
		return listFromPrism(ctx, f, o, key, password, anywhere)
	}
	// A password typed at the prompt may be mistyped: ask again, as ssh and sudo do.
	for attempt := 1; ; attempt++ {
		pw, err := promptPassword(ctx, f, key)
		if err != nil {
			return nil, err
		}
		entry, err := listFromPrism(ctx, f, o, key, pw, anywhere)
		if err == nil {
			o.typed = pw
		}
		var authErr *prism.AuthError
		if !errors.As(err, &authErr) || attempt == maxPasswordTries {
			if err != nil && errors.As(err, &authErr) {
				return nil, &cmdutil.NothingDoneError{Err: err, Hint: fmt.Sprintf("%d wrong passwords for %s@%s; check the user with --username", attempt, key.User, key.Prism)}
			}
			return entry, err
		}
		_, _ = fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: prism %s: wrong user name or password; try again\n", key.Prism)
	}
}

// maxPasswordTries is how often a password is asked for after a refusal.
const maxPasswordTries = 3

// listFromPrism lists the CVMs of the selection with password, and caches them. Without a
// cluster selection, a PC that manages several clusters is a usage error that lists them,
// unless anywhere (--cvm was given): then every cluster's CVMs are listed, under the key
// of --cluster all, for --cvm to pick from.
func listFromPrism(ctx context.Context, f *cmdutil.Factory, o *Options, key cacheKey, password string, anywhere bool) (*cacheEntry, error) {
	client, err := prism.New(prism.Config{
		Address:    key.Prism,
		Username:   key.User,
		Password:   password,
		Insecure:   o.Insecure,
		CACertFile: o.CACert,
		Timeout:    prismTimeout,
	})
	if err != nil {
		return nil, cmdutil.UsageWithHint(fmt.Errorf("--ca-cert: %w", err), "give a readable PEM file with the CA of Prism's certificate")
	}
	if len(key.Clusters) == 0 {
		known, err := client.ListClusters(ctx)
		if err != nil {
			return nil, prismError(err)
		}
		switch {
		case len(known) > 1 && anywhere:
			key = key.everyCluster()
		case len(known) > 1:
			names := clusterNames(known)
			saveCache(f, &cacheEntry{cacheKey: key, Known: names})
			return nil, cmdutil.UsageWithHint(
				fmt.Errorf("prism %s manages %d clusters: choose with --cluster", key.Prism, len(known)),
				"--cluster NAME|UUID (repeatable, comma-separated) or --cluster all for every one; the clusters: "+strings.Join(names, ", "))
		}
	}
	inv, err := client.Inventory(ctx, key.inventorySelection())
	if err != nil {
		return nil, prismError(err)
	}
	if len(inv.Clusters) == 0 {
		return nil, &cmdutil.NothingDoneError{Err: fmt.Errorf("prism %s manages no AOS cluster", key.Prism)}
	}
	for i := range inv.Notices {
		if n := &inv.Notices[i]; n.Hint == "" && n.Err != nil {
			n.Hint = cmdutil.HintOf(n.Err)
		}
	}
	known, _ := client.ListClusters(ctx) // already in hand: no second request
	entry := &cacheEntry{cacheKey: key, Complete: true, API: inv.API, Known: clusterNames(known),
		CVMs: inv.CVMs, ComputeOnly: inv.ComputeOnly, Notices: inv.Notices, failed: len(inv.Failed)}
	if entry.CVMs == nil {
		entry.CVMs = []prism.CVM{}
	}
	// A list with clusters missing is not kept: the next run asks for them again.
	if entry.failed == 0 {
		saveCache(f, entry)
	}
	return entry, nil
}

// knownPassword finds the password without asking: --password-file, CVMTAIL_PASSWORD, or
// the context's. An explicit flag wins over the environment, as --username does. "" means
// it is to be asked on the terminal once Prism needs it; without a terminal that is an
// error now.
func knownPassword(f *cmdutil.Factory, o *Options, key cacheKey) (string, error) {
	if o.PasswordFile != "" {
		b, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return "", cmdutil.UsageWithHint(fmt.Errorf("--password-file: %w", err), "give a readable file holding the Prism password")
		}
		pw := strings.TrimSuffix(string(b), "\n")
		pw = strings.TrimSuffix(pw, "\r")
		if pw == "" {
			return "", cmdutil.Usagef("--password-file %s is empty", o.PasswordFile)
		}
		if st, err := os.Stat(o.PasswordFile); err == nil && config.OthersMayRead(st.Mode()) {
			cmdutil.WarnExposedSecret(f, o.PasswordFile, "chmod 600 "+o.PasswordFile)
		}
		return pw, nil
	}
	if o.Password != "" { // CVMTAIL_PASSWORD, else the config file's context's
		return o.Password, nil
	}
	if f.IOStreams.IsStdinTTY() {
		return "", nil
	}
	return "", cmdutil.UsageWithHint(fmt.Errorf("no Prism password for %s@%s", key.User, key.Prism),
		"set CVMTAIL_PASSWORD, pass --password-file FILE, or run on a terminal to be asked")
}

// promptPassword asks for the Prism password without echo; Ctrl-C cancels at once.
func promptPassword(ctx context.Context, f *cmdutil.Factory, key cacheKey) (string, error) {
	pw, err := f.IOStreams.ReadPassword(ctx, fmt.Sprintf("Prism password for %s@%s: ", key.User, key.Prism))
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err != nil {
		return "", cmdutil.UsageWithHint(fmt.Errorf("reading the Prism password: %w", err),
			"set CVMTAIL_PASSWORD or pass --password-file FILE")
	}
	if pw == "" {
		return "", cmdutil.Usagef("no Prism password given")
	}
	return pw, nil
}

// prismError turns a Prism failure into an exit status: an unknown --cluster is a usage
// error; anything else means nothing could be done. The hint goes along.
func prismError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var nf *prism.NotFoundError
	if errors.As(err, &nf) {
		return cmdutil.UsageWithHint(err, cmdutil.HintOf(nf)+"; or --cluster all for every one")
	}
	return &cmdutil.NothingDoneError{Err: err, Hint: cmdutil.HintOf(err)}
}

// filterCVMs keeps the CVMs named by --cvm (CVM IP, host name, or CVM name as shown or as
// Prism gave it), in Prism's order. oneCluster (--cvm without --cluster): a name that
// matches CVMs of several clusters is a usage error that lists them, since the user did
// not say which cluster they meant.
func filterCVMs(all []prism.CVM, want []string, addr string, oneCluster bool) ([]prism.CVM, error) {
	if len(want) == 0 {
		return all, nil
	}
	keep := make([]bool, len(all))
	for _, w := range want {
		var matched []prism.CVM
		for i, c := range all {
			if c.Address == w || strings.EqualFold(c.Host, w) || strings.EqualFold(c.Name, w) || strings.EqualFold(c.RawName, w) {
				keep[i] = true
				matched = append(matched, c)
			}
		}
		if len(matched) == 0 {
			return nil, cmdutil.UsageWithHint(&noSuchCVMError{fmt.Errorf("no CVM %q in the cluster(s) of prism %s", w, addr)}, knownCVMs(all))
		}
		if in := clustersOf(matched); oneCluster && len(in) > 1 {
			var where []string
			for _, c := range matched {
				where = append(where, fmt.Sprintf("%s (%s) in %s", c.Name, c.Address, c.Cluster))
			}
			return nil, cmdutil.UsageWithHint(fmt.Errorf("--cvm %q matches CVMs of %d clusters of prism %s: %s", w, len(in), addr, strings.Join(where, ", ")),
				"say which with --cluster "+strings.Join(in, " or --cluster "))
		}
	}
	var out []prism.CVM
	for i, c := range all {
		if keep[i] {
			out = append(out, c)
		}
	}
	return out, nil
}

// noSuchCVMError is filterCVMs' error for a --cvm that matches no CVM of Prism's list.
type noSuchCVMError struct{ error }

func (e *noSuchCVMError) Unwrap() error { return e.error }

func isNoSuchCVM(err error) bool {
	var nf *noSuchCVMError
	return errors.As(err, &nf)
}

func knownCVMs(all []prism.CVM) string {
	if len(all) == 0 {
		return "Prism lists no CVM"
	}
	const most = 20
	var parts []string
	for i, c := range all {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more (see cvmtail list-cvms)", len(all)-most))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Name, c.Address))
	}
	return "known CVMs: " + strings.Join(parts, ", ")
}

// clustersOf lists the clusters of cvms, each once, in order.
func clustersOf(cvms []prism.CVM) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cvms {
		id := c.ClusterUUID
		if id == "" {
			id = c.Cluster
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, c.Cluster)
		}
	}
	return out
}

// everyClusterWord stands for every cluster, in a selection and in the cache key: what
// --cluster all and --cluster '*' ask for.
const everyClusterWord = "*"

// clusterSelection is --cluster as asked for: repeated and comma-separated names, or
// [everyClusterWord] for all (or '*') among them.
func clusterSelection(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			switch {
			case c == "":
			case strings.EqualFold(c, "all") || c == everyClusterWord:
				return []string{everyClusterWord}
			default:
				out = append(out, c)
			}
		}
	}
	return out
}

func clusterNames(cls []prism.Cluster) []string {
	out := make([]string, len(cls))
	for i, c := range cls {
		out[i] = c.Name
	}
	return out
}
