/* SPDX-License-Identifier: MIT */
/*
 * Intrusive doubly-linked lists, as systemd's list.h: the items carry `prev`
 * and `next`, the owner a head and, where it appends, a tail. The AWS client
 * keeps its calls, waits and sockets in such lists; one definition of the
 * pointer juggling serves them all. tail is a pointer to the owner's tail
 * field, or NULL for a list that keeps none.
 */
#pragma once

#include <stddef.h>

#define LIST_APPEND(head, tail, item)                                   \
        do {                                                            \
                typeof(item) _item = (item);                            \
                typeof(item) *_tail = (tail);                           \
                _item->next = NULL;                                     \
                _item->prev = *_tail;                                   \
                if (*_tail)                                             \
                        (*_tail)->next = _item;                         \
                else                                                    \
                        (head) = _item;                                 \
                *_tail = _item;                                         \
        } while (0)

#define LIST_PREPEND(head, tail, item)                                  \
        do {                                                            \
                typeof(item) _item = (item);                            \
                typeof(item) *_tail = (tail);                           \
                _item->prev = NULL;                                     \
                _item->next = (head);                                   \
                if (_item->next)                                        \
                        _item->next->prev = _item;                      \
                else if (_tail)                                         \
                        *_tail = _item;                                 \
                (head) = _item;                                         \
        } while (0)

#define LIST_REMOVE(head, tail, item)                                   \
        do {                                                            \
                typeof(item) _item = (item);                            \
                typeof(item) *_tail = (tail);                           \
                if (_item->prev)                                        \
                        _item->prev->next = _item->next;                \
                else                                                    \
                        (head) = _item->next;                           \
                if (_item->next)                                        \
                        _item->next->prev = _item->prev;                \
                else if (_tail)                                         \
                        *_tail = _item->prev;                           \
                _item->prev = _item->next = NULL;                       \
        } while (0)
