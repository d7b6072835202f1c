package cmdutil

import (
	"context"
	"errors"
)

// resolvePrism resolves CVMs through Prism. (Filled in by the Prism work.)
func resolvePrism(ctx context.Context, f *Factory, o *TargetOptions, cvms []string) ([]Target, error) {
	return nil, &NothingDoneError{Err: errors.New("prism: not implemented yet")}
}
