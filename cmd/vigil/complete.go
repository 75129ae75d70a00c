package main

import "github.com/spf13/cobra"

// completeWords makes the shell complete a flag's value from a fixed list.
func completeWords(cmd *cobra.Command, flag string, words []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp))
}
