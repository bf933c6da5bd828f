// SPDX-License-Identifier: MIT
/*
 * The command line the guest kernel gets: "pci=off" first, unless the
 * user's line sets pci= itself; words split as the kernel splits them.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "boot/cmdline.h"

static void assert_built(const char *user, const char *want)
{
	char *got = cmdline_build(user);

	cr_assert_not_null(got);
	cr_assert_str_eq(got, want, "for \"%s\"", user);
	free(got);
}

Test(cmdline, pci_off_goes_first)
{
	assert_built("console=ttyS0 quiet", "pci=off console=ttyS0 quiet");
}

Test(cmdline, empty_line_gets_only_pci_off)
{
	assert_built("", "pci=off");
}

Test(cmdline, init_arguments_keep_their_place)
{
	/* After "--" words go to init: pci=off must stay before it. */
	assert_built("console=ttyS0 -- single pci=x",
		     "pci=off console=ttyS0 -- single pci=x");
}

Test(cmdline, the_users_pci_setting_wins)
{
	assert_built("console=ttyS0 pci=conf1", "console=ttyS0 pci=conf1");
	assert_built("pci=off", "pci=off");
	assert_built("quiet \"pci=noacpi\"", "quiet \"pci=noacpi\"");
}

Test(cmdline, only_whole_parameter_names_count)
{
	cr_assert(cmdline_has_param("pci=off", "pci"));
	cr_assert(cmdline_has_param("a\tpci", "pci"));
	cr_assert_not(cmdline_has_param("xpci=1 pcie_aspm=off", "pci"));
	cr_assert_not(cmdline_has_param("foo=pci=off", "pci"));
	cr_assert_not(cmdline_has_param("", "pci"));
}

Test(cmdline, quoted_blanks_do_not_split_a_word)
{
	/* One word: dyndbg="... pci=on ..."; it sets dyndbg, not pci. */
	cr_assert_not(cmdline_has_param("dyndbg=\"file x pci=on +p\"", "pci"));
	assert_built("dyndbg=\"a pci=on\"", "pci=off dyndbg=\"a pci=on\"");
}

Test(cmdline, words_after_dashes_belong_to_init)
{
	cr_assert_not(cmdline_has_param("quiet -- pci=off", "pci"));
	cr_assert(cmdline_has_param("pci=off -- quiet", "pci"));
}

Test(cmdline, dash_and_underscore_are_one_in_names)
{
	cr_assert(cmdline_has_param("rcu-nocbs=1", "rcu_nocbs"));
	cr_assert(cmdline_has_param("rcu_nocbs=1", "rcu-nocbs"));
}
