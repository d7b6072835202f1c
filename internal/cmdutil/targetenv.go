package cmdutil

// The environment variables that stand in for flags that choose CVMs. They are read in
// ReadTargetEnv alone: ApplyContext asks it what the environment overrides, and
// FillFromEnv gives its values to the options before they are resolved or completed.
const (
	EnvPrism    = "CVMTAIL_PRISM"    // --prism
	EnvUsername = "CVMTAIL_USERNAME" // --username
	EnvPassword = "CVMTAIL_PASSWORD" // the Prism password, instead of --password-file
)

// TargetEnv is what the environment says for the flags that choose CVMs ("" for unset).
type TargetEnv struct {
	Prism, Username, Password string
}

// ReadTargetEnv reads EnvPrism, EnvUsername and EnvPassword through getenv (nil: an empty
// environment).
func ReadTargetEnv(getenv func(string) string) TargetEnv {
	if getenv == nil {
		return TargetEnv{}
	}
	return TargetEnv{Prism: getenv(EnvPrism), Username: getenv(EnvUsername), Password: getenv(EnvPassword)}
}

// FillFromEnv gives o what the environment says where the flags left it open: the Prism
// and the user when no flag (or context) named them, and the password, which wins over
// a context's but not over --password-file.
func (o *TargetOptions) FillFromEnv(getenv func(string) string) {
	env := ReadTargetEnv(getenv)
	if o.Prism == "" {
		o.Prism = env.Prism
	}
	if o.Username == "" {
		o.Username = env.Username
	}
	if env.Password != "" {
		o.Password = env.Password
	}
}
