// hello is a binary for binrun's own test of Build.
package main

import "fmt"

func main() { fmt.Println("hello") }
