// Package itertest has helpers for the tests of the module's iterators.
package itertest

import (
	"fmt"
	"iter"
)

// OneError drains seq and returns the one error it yielded, or an error
// saying what else it yielded: for tests of an All method that must
// refuse its options with a single error and nothing else.
func OneError[T any](seq iter.Seq2[T, error]) error {
	var errs []error
	items := 0
	for _, err := range seq {
		if err != nil {
			errs = append(errs, err)
		} else {
			items++
		}
	}
	if len(errs) != 1 || items != 0 {
		return fmt.Errorf("yielded %d items and the errors %v, want one error", items, errs)
	}
	return errs[0]
}
