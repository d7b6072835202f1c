package logs

import (
	"strings"
	"testing"
)

// FuzzListing feeds whatever a CVM might answer to the listing parser: it must return
// files or an error, never panic, and never return a file it could not have read.
func FuzzListing(f *testing.F) {
	f.Add([]byte(listingMarker+"\x00F\x00./a.out\x0010\x001700000000.25\x00f\x00"), 0)
	f.Add([]byte("banner\n"+listingMarker+"\x00F\x00./stargate.INFO\x00512\x001700000000\x00f\x00L\x00./stargate.INFO\x00stargate.x.log.INFO.1\x00"), 0)
	f.Add([]byte(listingMarker+"\x00F\x00./cassandra/system.log\x005\x001.5\x00N\x00"), 1)
	f.Add([]byte(listingMarker+"\x00F\x00./a.out\x0010"), 0)
	f.Add([]byte(listingMarker+"\x00X\x00"), 0)
	f.Add([]byte(listingMarker+"\x00F\x00./a\x00-1\x00-1.-1\x00f\x00"), 0)
	f.Add([]byte(""), cdFailed)
	f.Fuzz(func(t *testing.T, out []byte, status int) {
		files, _, err := interpretListing(out, "", status, "/d")
		if err != nil {
			return
		}
		for _, fl := range files {
			if fl.Size < 0 || len(fl.Name) > maxFieldBytes || !strings.HasPrefix(fl.Path, "/d/") {
				t.Fatalf("implausible file %+v", fl)
			}
		}
		if len(files) > maxListingFiles {
			t.Fatalf("%d files", len(files))
		}
	})
}
