/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * replay.c - a main() for the libFuzzer targets: runs every file named on
 * the command line (or found in the directories named) through
 * LLVMFuzzerTestOneInput once, so make check replays the corpus under any
 * compiler and sanitizer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (16u << 20)

static int replay_file(const char *path)
{
    uint8_t *data;
    size_t len;
    FILE *f = fopen(path, "rb");

    if (!f) {
        perror(path);
        return -1;
    }
    data = malloc(REPLAY_MAX);
    if (!data) abort();
    len = fread(data, 1, REPLAY_MAX, f);
    fclose(f);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int replay_path(const char *path, unsigned *n)
{
    struct dirent *de;
    struct stat st;
    char *child;
    DIR *d;
    int rc = 0;

    if (stat(path, &st)) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*n)++;
        return replay_file(path);
    }
    d = opendir(path);
    if (!d) {
        perror(path);
        return -1;
    }
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (asprintf(&child, "%s/%s", path, de->d_name) < 0) abort();
        rc = replay_path(child, n);
        free(child);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned n = 0;
    int i;

    for (i = 1; i < argc; i++)
        if (replay_path(argv[i], &n)) return 1;
    printf("%s: replayed %u inputs\n", argv[0], n);
    return 0;
}
