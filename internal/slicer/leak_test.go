package slicer

import (
	"testing"

	"github.com/shortstock/shortstock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m, nil) }
