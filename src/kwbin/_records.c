/* kwbin._records: TensorInfo records built in bulk, in C (optional speedup).

   records.tensor_infos() builds the same records in Python when this module
   is absent (a checkout run from src/, or a build without a C compiler); the
   tests compare the two.  Two things make it faster than any Python loop:
   each record is allocated and its slots filled directly (no attribute
   stores, no __class__ swap), and a record whose fields are all atomic
   (str, int, None, a tuple of ints) is untracked by the garbage collector,
   as CPython does for such tuples and dicts: it can be part of no cycle, so
   no collection ever needs to scan it.  With 10,000 records the collector
   otherwise runs some 15 times during the build and scans them again later. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* Can an object be part of a reference cycle?  Only containers can; an exact
   tuple of exact ints cannot. */
static int atomic(PyObject *v)
{
    Py_ssize_t i, n;
    if (v == Py_None || PyUnicode_CheckExact(v) || PyLong_CheckExact(v)) return 1;
    if (!PyTuple_CheckExact(v)) return 0;
    n = PyTuple_GET_SIZE(v);
    for (i = 0; i < n; i++)
        if (!PyLong_CheckExact(PyTuple_GET_ITEM(v, i))) return 0;
    return 1;
}

/* The byte offset of slot `name` of `cls`, from its member descriptor. */
static Py_ssize_t slot_offset(PyTypeObject *cls, PyObject *name)
{
    PyObject *d = PyDict_GetItemWithError(cls->tp_dict, name); /* borrowed */
    PyMemberDef *m;
    if (d == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s has no slot %R", cls->tp_name, name);
        return -1;
    }
    if (!PyObject_TypeCheck(d, &PyMemberDescr_Type) || PyDescr_TYPE(d) != cls) { /* only cls's own slots */
        PyErr_Format(PyExc_TypeError, "%s.%U is not a slot", cls->tp_name, name);
        return -1;
    }
    m = ((PyMemberDescrObject *)d)->d_member;
    if (m->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%U is not an object slot", cls->tp_name, name);
        return -1;
    }
    return m->offset;
}

/* build(cls, names, columns) -> tuple of cls instances.
   names: the slot names (a tuple of str); columns: one sequence per name, all
   of one length; record i gets columns[k][i] in slot names[k]. */
static PyObject *build(PyObject *module, PyObject *args)
{
    PyTypeObject *cls;
    PyObject *names, *columns, *out = NULL;
    PyObject **fast[16];
    PyObject *seqs[16] = {NULL};
    Py_ssize_t offsets[16], nfields, count = -1, i, k;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!O!", &PyType_Type, &cls, &PyTuple_Type, &names, &PyTuple_Type, &columns))
        return NULL;
    nfields = PyTuple_GET_SIZE(names);
    if (nfields > 16 || PyTuple_GET_SIZE(columns) != nfields) {
        PyErr_SetString(PyExc_ValueError, "build() takes one column per slot name, at most 16");
        return NULL;
    }
    for (k = 0; k < nfields; k++) {
        if ((offsets[k] = slot_offset(cls, PyTuple_GET_ITEM(names, k))) < 0) goto done;
        seqs[k] = PySequence_Fast(PyTuple_GET_ITEM(columns, k), "build() columns must be sequences");
        if (seqs[k] == NULL) goto done;
        if (count < 0) count = PySequence_Fast_GET_SIZE(seqs[k]);
        if (PySequence_Fast_GET_SIZE(seqs[k]) != count) {
            PyErr_SetString(PyExc_ValueError, "build() columns differ in length");
            goto done;
        }
        fast[k] = PySequence_Fast_ITEMS(seqs[k]);
    }
    if (count < 0) count = 0;
    if ((out = PyTuple_New(count)) == NULL) goto done;
    /* Out of the collector while it fills: the allocations below start collections, which would
       otherwise scan this young tuple, every record so far, each time. */
    PyObject_GC_UnTrack(out);
    for (i = 0; i < count; i++) {
        PyObject *obj = cls->tp_alloc(cls, 0);
        int untrack = 1;
        if (obj == NULL) {
            PyObject_GC_Track(out); /* as the tuple's deallocation expects */
            Py_CLEAR(out);
            goto done;
        }
        for (k = 0; k < nfields; k++) {
            PyObject *v = fast[k][i];
            Py_INCREF(v);
            *(PyObject **)((char *)obj + offsets[k]) = v;
            untrack &= atomic(v);
        }
        if (untrack && PyObject_GC_IsTracked(obj)) PyObject_GC_UnTrack(obj);
        PyTuple_SET_ITEM(out, i, obj);
    }
    PyObject_GC_Track(out);
done:
    for (k = 0; k < nfields; k++) Py_XDECREF(seqs[k]);
    return out;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS, "build(cls, names, columns) -> tuple of records, slots filled from columns"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "kwbin._records",
                                    "TensorInfo records built in bulk (optional speedup).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__records(void)
{
    return PyModule_Create(&module);
}
