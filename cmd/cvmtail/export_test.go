package main

// Main is the program's main, for TestMain to install as the command of the test scripts.
var Main = main
