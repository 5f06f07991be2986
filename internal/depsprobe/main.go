package main
import (
 _ "github.com/stretchr/testify/require"
 _ "gonum.org/v1/plot"
 _ "gonum.org/v1/plot/vg/vgsvg"
 _ "gonum.org/v1/plot/vg/vgimg"
 _ "gopkg.in/yaml.v3"
 _ "go.uber.org/goleak"
)
func main(){}
