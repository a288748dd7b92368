// Package fault gives errors a kind that decides how they are answered: the
// HTTP status an API returns, and whether a consumer retries a message or
// sends it to the dead-letter stream.
package fault

import "errors"

// Kind classifies an error.
type Kind int

// Kinds of error. Other is the zero value: an unexpected failure.
const (
	Other     Kind = iota
	Invalid        // the input is wrong; retrying will not help
	NotFound       // the thing asked for does not exist
	Conflict       // the input contradicts what is stored
	TooLarge       // the input exceeds a size limit
	Transient      // a dependency failed; retrying later may succeed
	Permanent      // processing can never succeed
	Forbidden      // the caller may not do this (its role or scope)
	TooMany        // too many attempts; retry after a while
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case TooLarge:
		return "too_large"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Forbidden:
		return "forbidden"
	case TooMany:
		return "too_many"
	}
	return "other"
}

// Error is an error with a kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// E wraps err with a kind; nil stays nil.
func E(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Err: err}
}

// KindOf returns the kind of the outermost kinded error in err's chain, or
// Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// Retryable says whether a failed message is worth another attempt.
func Retryable(err error) bool {
	switch KindOf(err) {
	case Invalid, Permanent, TooLarge, Conflict, Forbidden:
		return false
	}
	return true
}
