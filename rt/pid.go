package rt

import "os"

func pid() int { return os.Getpid() }
