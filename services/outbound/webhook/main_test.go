package webhook_test

import (
	"testing"

	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
