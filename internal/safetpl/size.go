package safetpl

import "reflect"

// sizeOf estimates what printing v costs: the bytes of its strings plus, for every element
// of a list or map, one plus its depth (what indentation costs a pretty printer). It stops
// as soon as the estimate passes limit, so a value that shares one big string many times,
// or that contains itself, costs what printing it would and is refused without being
// walked in full. ok is false when v is over limit or nested deeper than maxValueDepth.
func sizeOf(v reflect.Value, limit int) (n int, ok bool) {
	w := walker{left: limit}
	w.walk(v, 0)
	return limit - w.left, w.left >= 0
}

type walker struct{ left int }

func (w *walker) walk(v reflect.Value, depth int) {
	if w.left < 0 {
		return
	}
	if depth > maxValueDepth {
		w.left = -1
		return
	}
	switch v.Kind() {
	case reflect.Invalid:
		w.left--
	case reflect.String:
		w.left -= v.Len()
	case reflect.Interface:
		if v.IsNil() {
			w.left--
			return
		}
		w.walk(v.Elem(), depth)
	case reflect.Pointer:
		// Pointers add depth, so that a pointer cycle ends at maxValueDepth.
		if v.IsNil() {
			w.left--
			return
		}
		w.walk(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			w.left -= v.Len()
			return
		}
		for i := 0; i < v.Len() && w.left >= 0; i++ {
			w.left -= 1 + depth
			w.walk(v.Index(i), depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for w.left >= 0 && it.Next() {
			w.left -= 1 + depth
			w.walk(it.Key(), depth+1)
			w.walk(it.Value(), depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField() && w.left >= 0; i++ {
			w.left -= 1 + depth
			w.walk(v.Field(i), depth+1)
		}
	default:
		w.left -= 8
	}
}
