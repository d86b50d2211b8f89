# -*- coding: utf-8 -*-
from setuphelpers import *

TARGET = 'demo-hello'


def install():
    target_dir = makepath(persistent_dir, TARGET)
    mkdirs(target_dir)
    filecopyto('hello.txt', makepath(target_dir, 'hello.txt'))
    print('demo-hello installed in %s' % target_dir)


def uninstall():
    remove_tree(makepath(persistent_dir, TARGET))


def audit():
    if isfile(makepath(persistent_dir, TARGET, 'hello.txt')):
        return 'OK'
    return 'ERROR'
