# Installs the build tree into a scratch prefix, then configures, builds and runs a project
# that knows mailroom only through find_package(mailroom):
#   MODE=readme    the CMakeLists.txt shown in README.md ("Use it in your project"), verbatim,
#                  with main.cpp of this folder; built with -Wall -Wextra -Werror and run.
#   MODE=warnings  snippets/CMakeLists.txt: the programs the docs show, built in Debug and
#                  in Release with -Wall -Wextra -Werror (no warning from mailroom's headers).
#   MODE=area      examples/area, a project of its own, built the same way and run as a
#                  cluster of three processes by its run_cluster.sh.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
    RESULT_VARIABLE rc)
if(rc)
    message(FATAL_ERROR "install failed: ${rc}")
endif()

# EXTRA_*_FLAGS: the flags the library was built with (a sanitizer's, which the consumer
# needs to link it).
set(common_args -G ${GENERATOR} -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
    "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror ${EXTRA_CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_LINK_FLAGS}")
if(LAUNCHER)
    list(APPEND common_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()

function(configure_and_build source build type)
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${source} -B ${build} ${common_args}
        -DCMAKE_BUILD_TYPE=${type} ${ARGN} RESULT_VARIABLE rc)
    if(rc)
        message(FATAL_ERROR "configure (${type}) failed: ${rc}")
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} RESULT_VARIABLE rc)
    if(rc)
        message(FATAL_ERROR "build (${type}) failed: ${rc}")
    endif()
endfunction()

if(MODE STREQUAL "readme")
    file(READ ${README} readme)
    set(open "<!-- consumer-cmake -->\n```cmake\n")
    string(FIND "${readme}" "${open}" a)
    if(a EQUAL -1)
        message(FATAL_ERROR "README.md: no block marked <!-- consumer-cmake -->")
    endif()
    string(LENGTH "${open}" n)
    math(EXPR a "${a} + ${n}")
    string(SUBSTRING "${readme}" ${a} -1 rest)
    string(FIND "${rest}" "```" b)
    string(SUBSTRING "${rest}" 0 ${b} cmakelists)
    file(WRITE ${WORK_DIR}/src/CMakeLists.txt "${cmakelists}")
    file(COPY ${SOURCE_DIR}/main.cpp DESTINATION ${WORK_DIR}/src)
    configure_and_build(${WORK_DIR}/src ${WORK_DIR}/build Release)
    execute_process(COMMAND ${WORK_DIR}/build/my_server RESULT_VARIABLE rc)
    if(rc)
        message(FATAL_ERROR "consumer failed: ${rc}")
    endif()
elseif(MODE STREQUAL "warnings")
    foreach(type Debug Release)
        configure_and_build(${SOURCE_DIR}/snippets ${WORK_DIR}/${type} ${type}
            -DMAILROOM_EXAMPLES=${EXAMPLES_DIR})
    endforeach()
elseif(MODE STREQUAL "area")
    configure_and_build(${EXAMPLES_DIR}/area ${WORK_DIR}/area Release)
    execute_process(COMMAND bash ${EXAMPLES_DIR}/area/run_cluster.sh ${WORK_DIR}/area/area-node
        RESULT_VARIABLE rc)
    if(rc)
        message(FATAL_ERROR "the area example failed: ${rc}")
    endif()
else()
    message(FATAL_ERROR "MODE must be readme, warnings or area")
endif()
