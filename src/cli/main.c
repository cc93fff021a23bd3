#include <stdio.h>
int main(void) { puts("tapevault"); return 0; }
