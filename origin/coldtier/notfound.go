package coldtier

import (
	"gocloud.dev/gcerrors"
)

func blobNotFound(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }
