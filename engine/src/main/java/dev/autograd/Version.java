package dev.autograd;

/** The version counter shared by a tensor, its views and its detached aliases. */
final class Version {
    int value;
}
