// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/cmdline.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

/*
 * The next word at or after @p, as the kernel's next_arg() splits them:
 * blanks outside double quotes end a word. NULL at the end of the line.
 */
static const char *next_word(const char *p, const char **end)
{
	bool quoted = false;

	while (is_blank(*p))
		p++;
	if (!*p)
		return NULL;
	for (*end = p; **end; (*end)++) {
		if (**end == '"')
			quoted = !quoted;
		else if (!quoted && is_blank(**end))
			break;
	}
	return p;
}

/* The kernel's parameq(): '-' and '_' in a parameter name are the same. */
static bool name_char_eq(char a, char b)
{
	if (a == '-')
		a = '_';
	if (b == '-')
		b = '_';
	return a == b;
}

static bool word_names(const char *w, size_t len, const char *name)
{
	size_t i, n = strlen(name);

	if (len && *w == '"') {		/* next_arg() drops a leading quote */
		w++;
		len--;
	}
	if (len < n)
		return false;
	for (i = 0; i < n; i++)
		if (!name_char_eq(w[i], name[i]))
			return false;
	return len == n || w[n] == '=' || w[n] == '"';
}

bool cmdline_has_param(const char *cmdline, const char *name)
{
	const char *w, *end = cmdline;

	while ((w = next_word(end, &end))) {
		size_t len = (size_t)(end - w);

		if (len == 2 && !memcmp(w, "--", 2))
			return false;
		if (word_names(w, len, name))
			return true;
	}
	return false;
}

char *cmdline_build(const char *user)
{
	size_t len;
	char *s;

	if (cmdline_has_param(user, "pci"))
		return strdup(user);
	len = sizeof(CMDLINE_NO_PCI) + 1 + strlen(user);
	s = malloc(len);
	if (!s)
		return NULL;
	snprintf(s, len, *user ? CMDLINE_NO_PCI " %s" : CMDLINE_NO_PCI "%s",
		 user);
	return s;
}
